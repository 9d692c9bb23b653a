// The Spread client protocol as pure codecs: no sockets, no timers. See
// shared/design/client-protocol.md; every decoder returns a DecodeResult and never throws on input.
export * from './constants';
export * from './decodeResult';
export * from './names';
export * from './connect';
export * from './handshakeReplies';
export * from './header';
export * from './frameRules';
export * from './message';
export * from './membershipBody';
export * from './daemonMessages';
export * from './chunkQueue';
export * from './frameReader';
