/**
 * The cluster agent (the process on every node): {@link Agent}, {@link runAgent}, its
 * configuration and the parts it wires (Raft backend, Admin over Raft, membership).
 */
export { Agent, PortInUseError } from './agent.js';
export { runAgent, type RunAgentOptions } from './run.js';
export { AGENT_OPTIONS, addAgentOptions, envName, flagsOf, optionsMarkdown, type OptionSpec } from './options.js';
export { AgentConfigError, OptionReader } from './option-reader.js';
export {
  allAgentOptions,
  clusterOptions,
  readClusterConfigFile,
  resolveClusterAgentConfig,
  DesiredRole,
  type ClusterAgentConfig,
} from './config.js';
export { RaftBackend, type RaftBackendOptions } from './raft-backend.js';
export { RaftAdmin, pickTransferTarget, type RaftAdminOptions } from './raft-admin.js';
export { MembershipReconciler, RemovedMembers, nextMembershipStep, type MembershipStep } from './membership.js';
export { PeerDirectory, TagKeys, agentTags, peerOf, type PeerInfo } from './peers.js';
export { LeaderForwarder } from './forwarder.js';
export * from './errors.js';
