import { type TInteger, Type } from '@sinclair/typebox';
import { ContentId, Envelope, Hex32, NodeId, Resources, TaskSpecBody } from '../../protocol/messages.ts';

/**
 * The API's request and response shapes (the views of hub/engine-types.ts, as JSON Schema).
 * Responses are serialized through these schemas, so a field missing here never leaves the hub:
 * that is also what keeps credentials out of every answer.
 */

const closed = { additionalProperties: false } as const;

export const TaskStatusSchema = Type.Union([
  Type.Literal('validating'),
  Type.Literal('pending'),
  Type.Literal('invalid'),
  Type.Literal('in_queue'),
  Type.Literal('in_progress'),
  Type.Literal('completed'),
  Type.Literal('validated'),
  Type.Literal('failed'),
  Type.Literal('abandoned'),
]);
export const TASK_STATUSES = TaskStatusSchema.anyOf.map((s) => s.const);

const AssignmentStatusSchema = Type.Union([
  Type.Literal('assigned'),
  Type.Literal('running'),
  Type.Literal('reported'),
  Type.Literal('failed'),
  Type.Literal('expired'),
  Type.Literal('cancelled'),
]);

const Millis = Type.Number({ description: 'ms since the epoch' });

export const TransitionSchema = Type.Object(
  { status: TaskStatusSchema, at: Millis, reason: Type.Optional(Type.String()) },
  closed,
);

export const AssignmentViewSchema = Type.Object(
  {
    id: ContentId,
    agentId: NodeId,
    round: Type.Integer(),
    status: AssignmentStatusSchema,
    issuedAt: Millis,
    deadline: Millis,
    reason: Type.Optional(Type.String()),
    digest: Type.Optional(Type.Union([Hex32, Type.Null()])),
  },
  closed,
);

export const TaskViewSchema = Type.Object(
  {
    id: ContentId,
    submitter: NodeId,
    home: NodeId,
    status: TaskStatusSchema,
    spec: TaskSpecBody,
    submittedAt: Millis,
    transitions: Type.Array(TransitionSchema),
    staleness: Type.Number(),
    round: Type.Integer(),
    assignments: Type.Array(AssignmentViewSchema),
    result: Type.Optional(
      Type.Object(
        {
          digest: Hex32,
          stdout: Type.String({ description: 'base64 of the (capped) stdout agreed on' }),
          exitCode: Type.Union([Type.Integer(), Type.Null()]),
          text: Type.String({ description: 'stdout decoded as UTF-8' }),
        },
        closed,
      ),
    ),
    trustScore: Type.Optional(Type.Number({ description: '0-10: the winning share of the deciding weight, times ten' })),
    reason: Type.Optional(Type.String({ description: 'why it is invalid, failed or abandoned, or why it is not running yet' })),
    decider: Type.Optional(NodeId),
  },
  closed,
);

const AgentStatsSchema = Type.Object(
  { valid: Type.Integer(), invalid: Type.Integer(), consecutiveValid: Type.Integer() },
  closed,
);

export const AgentViewSchema = Type.Object(
  {
    id: NodeId,
    publicKey: Hex32,
    name: Type.String(),
    total: Resources,
    free: Resources,
    reserved: Resources,
    trust: Type.Number(),
    active: Type.Boolean(),
    registeredAt: Millis,
    lastHeartbeat: Millis,
    stats: AgentStatsSchema,
  },
  closed,
);

const networkTotals = {
  agents: Type.Object({ active: Type.Integer(), inactive: Type.Integer(), total: Type.Integer() }, closed),
  resources: Type.Object({ total: Resources, free: Resources }, closed),
  averageTrust: Type.Number(),
  tasks: Type.Object(Object.fromEntries(TASK_STATUSES.map((s) => [s, Type.Integer()])) as Record<(typeof TASK_STATUSES)[number], TInteger>, closed),
};

export const NetworkViewSchema = Type.Object(
  {
    ...networkTotals,
    federation: Type.Optional(
      Type.Object(
        { hubs: Type.Integer({ description: 'hubs this one knows of, itself included' }), ...networkTotals },
        { ...closed, description: 'in a federation: the totals over every hub this one knows of; the fields beside are its own' },
      ),
    ),
  },
  closed,
);

export const RegistryAuthSchema = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 256 }),
    password: Type.String({ minLength: 1, maxLength: 4096 }),
    serveraddress: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  { ...closed, description: 'Private-registry credentials: kept by the hub, handed only to the assigned agent, never echoed' },
);

export const WorkGrantSchema = Type.Object(
  {
    assignment: Envelope,
    registryAuth: Type.Optional(RegistryAuthSchema),
  },
  closed,
);

export const HubInfoSchema = Type.Object(
  {
    id: NodeId,
    publicKey: Hex32,
    version: Type.String({ description: 'the hub software version' }),
    protocol: Type.Integer({ description: 'the signed-envelope protocol version it speaks' }),
  },
  closed,
);

export const TaskSubmissionSchema = Type.Object(
  {
    task: Envelope,
    registryAuth: Type.Optional(RegistryAuthSchema),
  },
  closed,
);

export const TaskQuerySchema = Type.Object(
  {
    submitter: Type.Optional(NodeId),
    status: Type.Optional(TaskStatusSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  closed,
);

export const IdParams = (description: string) => Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{1,64}$', description }) }, closed);

export const TaskReply = Type.Object({ task: TaskViewSchema }, closed);
export const AgentReply = Type.Object({ agent: AgentViewSchema }, closed);
