/** @module Transport limits. One WebSocket message carries one Noise message (Noise §3: at most 65535 bytes). */
export { CloseCode } from '@parley/protocol';
export { NOISE_MAX_MESSAGE as NOISE_FRAME_LIMIT } from '@parley/crypto';
