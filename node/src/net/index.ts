/** Networking shared by the node's services: the one-port multiplexer (Raft + gRPC). */
export { PortMux, MUX_RAFT_BYTE, replayStream, type PortMuxOptions, type PortMuxStats } from './mux.js';
