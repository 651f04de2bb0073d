// The scriptable signing agent, the hub client and the hub process of the integration tests and
// benchmarks live in simulations/live/signed-agent.ts, shared with `dcloud sim --live`.
export {
  type ApiResponse,
  expectStatus,
  HubClient,
  type HubProcess,
  type HubProcessOptions,
  LISTENING_LINE,
  type Outcome,
  SignedAgent as TestAgent,
  type SignedAgentOptions as TestAgentOptions,
  sleep,
  startHubProcess,
  taskSpec,
  UnexpectedResponseError,
} from '../../simulations/live/signed-agent.ts';
