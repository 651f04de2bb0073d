import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { FastifySchemaCompiler } from 'fastify';
import { HttpError, HttpErrorCodes } from './errors.ts';

/**
 * Request validation with TypeBox's compiler instead of fastify's default Ajv, which coerces types
 * and silently strips unknown fields: here a body with a wrong type or an unknown field is refused
 * (400 VALIDATION_FAILED naming the field), as the protocol's closed schemas are. Only the query
 * string and path parameters, which are text by nature, are converted to the schema's types.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  const convert = httpPart === 'querystring' || httpPart === 'params';
  return (data: unknown) => {
    const value = convert ? Value.Convert(schema, data) : data;
    if (check.Check(value)) return { value };
    const first = check.Errors(value).First();
    const where = `${httpPart ?? 'request'}${first?.path ?? ''}`;
    return { error: new HttpError(HttpErrorCodes.VALIDATION_FAILED, `${where}: ${first?.message ?? 'is invalid'}`, 400) };
  };
};
