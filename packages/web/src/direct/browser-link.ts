/** @module The browser's PeerLink (DESIGN §9): the data channel of its own RTCPeerConnection. */
import { fingerprintText, type PeerLink, type PeerLinkEvents, type PeerLinkFactory } from '@parley/client';

const CHANNEL_LABEL = 'parley';

export const browserLinkFactory: PeerLinkFactory = (options, events) => new BrowserLink(options.iceServers, events);

class BrowserLink implements PeerLink {
  private readonly pc: RTCPeerConnection;
  private channel: RTCDataChannel | undefined;
  private closed = false;

  constructor(iceServers: RTCIceServer[], private readonly events: PeerLinkEvents) {
    this.pc = new RTCPeerConnection({ iceServers });
    this.pc.addEventListener('connectionstatechange', () => {
      if (this.pc.connectionState === 'failed' || this.pc.connectionState === 'closed') this.finish();
    });
    this.pc.addEventListener('datachannel', (event) => this.attach(event.channel));
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
    await this.pc.addIceCandidate(JSON.parse(candidate) as RTCIceCandidateInit);
  }

  /** The remote certificate's fingerprint from the connection's stats (W3C webrtc-stats §3.3.16). */
  async remoteFingerprint(): Promise<string | undefined> {
    const stats = [...(await this.pc.getStats()).values()] as { type: string; id: string; remoteCertificateId?: string; fingerprint?: string; fingerprintAlgorithm?: string }[];
    const transport = stats.find((entry) => entry.type === 'transport' && entry.remoteCertificateId);
    const certificate = stats.find((entry) => entry.type === 'certificate' && entry.id === transport?.remoteCertificateId);
    return certificate?.fingerprint && certificate.fingerprintAlgorithm ? fingerprintText(certificate.fingerprintAlgorithm, certificate.fingerprint) : undefined;
  }

  send(data: Uint8Array): void {
    if (this.channel?.readyState !== 'open') throw new Error('the direct channel is not open');
    this.channel.send(data.slice().buffer);
  }

  close(): void {
    this.closed = true;
    this.channel?.close();
    this.pc.close();
  }

  private attach(channel: RTCDataChannel): void {
    this.channel = channel;
    channel.binaryType = 'arraybuffer';
    channel.addEventListener('open', () => this.events.open());
    channel.addEventListener('close', () => this.finish());
    channel.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (event.data instanceof ArrayBuffer) this.events.message(new Uint8Array(event.data));
    });
  }

  /** The local description once ICE gathering is complete, so it carries every candidate. */
  private async gathered(): Promise<string> {
    if (this.pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const done = () => {
          if (this.pc.iceGatheringState !== 'complete') return;
          this.pc.removeEventListener('icegatheringstatechange', done);
          resolve();
        };
        this.pc.addEventListener('icegatheringstatechange', done);
      });
    }
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error('no local description after ICE gathering');
    return sdp;
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
    this.events.closed();
  }
}
