import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyTypeProvider } from 'fastify';

/**
 * Gives route handlers the static types of their TypeBox schemas. The project's schemas are
 * TypeBox 0.34 (@sinclair/typebox); @fastify/type-provider-typebox 6 targets TypeBox 1.x and
 * reads literal unions of 0.34 schemas as plain strings, so this is the provider for 0.34.
 */
export interface TypeBoxProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}
