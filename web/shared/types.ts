// The API's shapes, as the server code defines them (type-only imports: nothing of the server is bundled).
import type { Static } from '@sinclair/typebox';
import type { FederationViewSchema } from '../../hub/http/federation.ts';

export type { AgentView, AssignmentView, NetworkView, TaskView } from '../../hub/engine-types.ts';
export type { AgentStatus, HubStatus } from '../../agent/agent.ts';
export type { DecisionView, HistoryView } from '../../hub/http/dashboard.ts';
export type { TaskStatus } from '../../src/core/model.ts';
export type FederationView = Static<typeof FederationViewSchema>;
