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

const DecisionVoterSchema = Type.Object(
  {
    agentId: NodeId,
    trust: Type.Number({ description: 'its trust when it voted' }),
    credibility: Type.Optional(Type.Number({ description: 'credibility policy: probability its result is right, from its verified record at decision time' })),
    logOdds: Type.Optional(Type.Number({ description: 'credibility policy: its log-odds then (what a re-examination needs)' })),
  },
  closed,
);

export const TaskDecisionSchema = Type.Object(
  {
    round: Type.Integer(),
    at: Millis,
    policy: Type.String({ description: 'the validation policy that decided (credibility, trust-sum), or spot-check' }),
    outcome: Type.Union([Type.Literal('validated'), Type.Literal('failed'), Type.Literal('undecided')]),
    digest: Type.Union([Hex32, Type.Null()]),
    score: Type.Number({ description: 'trust-sum: the winning share of the trust; credibility: the probability the result is right' }),
    reason: Type.String(),
    votes: Type.Array(Type.Object({ digest: Hex32, voters: Type.Array(DecisionVoterSchema) }, closed), { description: 'groups of agreeing votes, strongest first' }),
    disputed: Type.Optional(
      Type.Object({ agentId: NodeId, at: Millis, reason: Type.String() }, { ...closed, description: 'a voter this acceptance needed was later caught lying' }),
    ),
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
    kind: Type.Optional(Type.Literal('spot-check', { description: 'a known-answer task the hub made to test an agent (absent: a user\'s task)' })),
    decisions: Type.Optional(Type.Array(TaskDecisionSchema, { description: 'each decision taken on the task, oldest first' })),
  },
  closed,
);

const AgentStatsSchema = Type.Object(
  {
    valid: Type.Integer(),
    invalid: Type.Integer(),
    consecutiveValid: Type.Integer(),
    spotChecksPassed: Type.Optional(Type.Integer({ description: 'known-answer tasks answered right' })),
    spotChecksFailed: Type.Optional(Type.Integer({ description: 'known-answer tasks answered wrong: more than 0 is a proven liar' })),
    vouched: Type.Optional(Type.Boolean({ description: 'true: the operator vouches for it (--trusted-agents); false: it lost that with a wrong result' })),
  },
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
    pending: Type.Optional(Type.Boolean({ description: 'registered, waiting for the operator\'s approval (--approve-agents): no work until then' })),
  },
  closed,
);

export const PowChallengeSchema = Type.Object(
  {
    challenge: Type.String(),
    bits: Type.Integer({ description: 'leading zero bits the solution needs' }),
    expiresAt: Millis,
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
    validation: Type.Optional(
      Type.Object(
        {
          policy: Type.Union([Type.Literal('credibility'), Type.Literal('trust-sum')]),
          spotCheck: Type.Optional(
            Type.Object(
              {
                image: Type.String(),
                status: Type.Union([Type.Literal('checking'), Type.Literal('ready'), Type.Literal('unusable')]),
                reason: Type.Optional(Type.String({ description: 'why the hub could not pull it: no known-answer task, so no agent leaves probation, until it can' })),
                checkedAt: Type.Optional(Millis),
              },
              { ...closed, description: 'the known-answer tasks\' image (credibility policy)' },
            ),
          ),
          trustedAgents: Type.Integer({ description: 'agents the operator vouches for (--trusted-agents)' }),
        },
        { ...closed, description: 'how this hub accepts results (docs/VALIDATION.md), and whether its sources of records work' },
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
    kind: Type.Optional(
      Type.Union([Type.Literal('user'), Type.Literal('spot-check'), Type.Literal('all')], { description: 'user (default): submitted tasks; spot-check: the hub\'s known-answer tasks; all' }),
    ),
  },
  closed,
);

export const IdParams = (description: string) => Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{1,64}$', description }) }, closed);

export const TaskReply = Type.Object({ task: TaskViewSchema }, closed);
export const AgentReply = Type.Object({ agent: AgentViewSchema }, closed);
