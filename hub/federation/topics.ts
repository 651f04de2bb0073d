import type { MessageType } from '../../protocol/messages.ts';

/**
 * Which gossipsub topic carries which message type. One topic per kind of news, so a hub (or a
 * future light peer) subscribes to what it needs, and a validator knows what it may find in it.
 */
export const TOPICS = {
  heartbeats: 'dcloud/1/heartbeats',
  tasks: 'dcloud/1/tasks',
  assignments: 'dcloud/1/assignments',
  results: 'dcloud/1/results',
  decisions: 'dcloud/1/decisions',
} as const;
export type Topic = (typeof TOPICS)[keyof typeof TOPICS];
export const ALL_TOPICS: readonly Topic[] = Object.values(TOPICS);

/** The gossiped types. `work.request`, `task.spec` (travels inside `task.announce`) and `sync.*` never are. */
const TOPIC_OF: Partial<Record<MessageType, Topic>> = {
  'agent.heartbeat': TOPICS.heartbeats,
  'agent.register': TOPICS.heartbeats,
  'task.announce': TOPICS.tasks,
  'task.status': TOPICS.tasks,
  assignment: TOPICS.assignments,
  result: TOPICS.results,
  decision: TOPICS.decisions,
};

export function topicOf(type: MessageType): Topic | undefined {
  return TOPIC_OF[type];
}

/** The types a topic may carry: anything else found in it is a forgery of the topic. */
export function typesOf(topic: string): readonly MessageType[] {
  return (Object.keys(TOPIC_OF) as MessageType[]).filter((type) => TOPIC_OF[type] === topic);
}

/**
 * Messages a hub signs about its own work. In gossip they must come from the peer whose key signed
 * them (a hub's peer id and its signing key are one key): nobody else may speak for a hub, and a
 * captured old announcement cannot be replayed by a stranger.
 */
export const HUB_TYPES: ReadonlySet<MessageType> = new Set<MessageType>(['task.announce', 'task.status', 'decision', 'assignment']);
