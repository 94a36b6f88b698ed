import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenApiDocument } from './assemble.js';

/**
 * Request validation always (unknown body fields and query parameters rejected, every error
 * reported); response validation when asked (tests), where a response that breaks the document
 * becomes a 500 and is logged with the offending path.
 */
export function openApiValidator(
  doc: OpenApiDocument,
  validateResponses: boolean,
): RequestHandler[] {
  return OpenApiValidator.middleware({
    apiSpec: structuredClone(doc) as never,
    validateRequests: { allErrors: true, allowUnknownQueryParameters: false },
    validateResponses: validateResponses ? { allErrors: true } : false,
    validateSecurity: false,
    validateFormats: true,
    ignoreUndocumented: false,
  }) as unknown as RequestHandler[];
}
