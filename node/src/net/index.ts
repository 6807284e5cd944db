/** Networking shared by the node's services: the one-port multiplexer (Raft + gRPC + plaintext health probes). */
export { PortMux, MUX_RAFT_BYTE, MUX_H2C_BYTE, replayStream, type PortMuxOptions, type PortMuxStats } from './mux.js';
export {
  AddressError,
  formatHostPort,
  hostPort,
  isHostPort,
  parseHostPort,
  withPort,
  type HostPort,
  type ParsedHostPort,
  type ParseOptions,
} from './address.js';
