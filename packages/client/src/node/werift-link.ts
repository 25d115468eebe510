/** @module The Node PeerLink (DESIGN §9): WebRTC data channels from werift. */
import { createHash } from 'node:crypto';
import { RTCPeerConnection, type RTCDataChannel } from 'werift';
import type { PeerLink, PeerLinkEvents, PeerLinkFactory } from '../direct/peer-link.js';
import { fingerprintText } from '../direct/peer-link.js';

const CHANNEL_LABEL = 'parley';

export const weriftLinkFactory: PeerLinkFactory = (options, events) => new WeriftLink(options.iceServers, events);

class WeriftLink implements PeerLink {
  private readonly pc: RTCPeerConnection;
  private channel: RTCDataChannel | undefined;
  private closed = false;

  constructor(iceServers: { urls: string[]; username?: string; credential?: string }[], private readonly events: PeerLinkEvents) {
    this.pc = new RTCPeerConnection({
      // Only the servers the Parley server names: werift's default is a public STUN server.
      iceServers: iceServers.flatMap(({ urls, username, credential }) => urls.map((url) => ({ urls: url, ...(username === undefined ? {} : { username }), ...(credential === undefined ? {} : { credential }) }))),
      // Loopback too, so two devices on one machine reach each other without any network.
      iceAdditionalHostAddresses: ['127.0.0.1'],
    });
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'failed' || state === 'closed' || state === 'disconnected') this.finish();
    });
    this.pc.onDataChannel.subscribe((channel) => this.attach(channel));
  }

  async createOffer(): Promise<string> {
    this.attach(this.pc.createDataChannel(CHANNEL_LABEL));
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.gathered();
  }

  async acceptOffer(offer: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    return this.gathered();
  }

  async acceptAnswer(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  async addCandidate(candidate: string): Promise<void> {
    await this.pc.addIceCandidate(JSON.parse(candidate) as { candidate: string });
  }

  async remoteFingerprint(): Promise<string | undefined> {
    const certificate = this.pc.sctpTransport?.dtlsTransport.dtls?.remoteCertificate;
    if (!certificate) return undefined;
    const hex = createHash('sha256').update(certificate).digest('hex').match(/../g)?.join(':') ?? '';
    return fingerprintText('sha-256', hex);
  }

  send(data: Uint8Array): void {
    if (this.channel?.readyState !== 'open') throw new Error('the direct channel is not open');
    this.channel.send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  close(): void {
    this.closed = true;
    this.channel?.close();
    this.shutDown();
  }

  private shutDown(): void {
    this.pc.close().catch((error: unknown) => this.events.failed(error));
  }

  private attach(channel: RTCDataChannel): void {
    this.channel = channel;
    channel.stateChanged.subscribe((state) => {
      if (state === 'open') this.events.open();
      else if (state === 'closed') this.finish();
    });
    channel.onMessage.subscribe((data) => {
      if (typeof data !== 'string') this.events.message(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
  }

  /** The local description once ICE gathering is complete, so it carries every candidate. */
  private async gathered(): Promise<string> {
    if (this.pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const { unSubscribe } = this.pc.iceGatheringStateChange.subscribe((state) => {
          if (state !== 'complete') return;
          unSubscribe();
          resolve();
        });
      });
    }
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error('no local description after ICE gathering');
    return sdp;
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.shutDown();
    this.events.closed();
  }
}
