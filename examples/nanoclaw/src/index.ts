export {
  ADDRESS_LABEL,
  appleContainerEgress,
  dockerEgress,
  MANAGED_LABEL,
  type AppleContainerOptions,
  type DockerOptions,
  type Egressd,
  type NetworkPolicyProvider,
  type SpawnContext,
} from './provider.js';
export { runCommand, type CommandRunner } from './commands.js';
