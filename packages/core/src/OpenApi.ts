/**
 * The OpenAPI 3.1 document of the API, made from the same Schemas the server decodes and
 * encodes with, so that it cannot drift from what is served. Each error answer is documented
 * from the error classes themselves: their status, and the codes it carries.
 *
 * @since 0.1.0
 */
import * as JSONSchema from "effect/JSONSchema"
import type * as Schema from "effect/Schema"
import {
  ConflictError,
  ErrorBody,
  IdempotencyMismatchError,
  InvalidParametersError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  RequestTimeoutError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  UnsupportedModelError,
  VideoNotFoundError,
  VideoTooLargeError,
  VideoUrlRefusedError,
  codes
} from "./Errors.js"
import { FileKey, TaskId } from "./Ids.js"
import { CreateTaskBody, FaceResult, Health, IdempotencyKey, TaskObject, UploadedVideo } from "./Wire.js"

const definitions: Record<string, JSONSchema.JsonSchema7> = {}
/** The JSON Schema of `schema`; one with an identifier lands in `components.schemas` and is referenced. */
const jsonSchema = (schema: Schema.Schema.Any) =>
  JSONSchema.fromAST(schema.ast, { definitions, definitionPath: "#/components/schemas/", target: "openApi3.1" })

const errorBody = jsonSchema(ErrorBody)
const task = jsonSchema(TaskObject)
const jsonContent = (schema: unknown) => ({ "application/json": { schema } })
const integerHeader = (description: string) => ({ description, schema: { type: "integer", minimum: 0 } })

/** The headers each refusal status comes with. */
const refusalHeaders: Partial<Record<number, Record<string, unknown>>> = {
  401: { "WWW-Authenticate": { description: "The bearer challenge", schema: { type: "string" } } },
  405: { Allow: { description: "The methods this path answers", schema: { type: "string" } } },
  408: { Connection: { description: "close: the server ends the connection after the answer", schema: { type: "string", const: "close" } } },
  429: { "Retry-After": integerHeader("Seconds to wait before the next request") }
}

/** An error class of `Errors`: what its instances answer with is read off one of them. */
type RefusalClass = new (fields: { readonly message: string; readonly retryAfterSeconds: number }) => {
  readonly _tag: string
  readonly code: string
  readonly status: number
}

const refusalResponse = (status: number, refusals: ReadonlyArray<{ readonly _tag: string; readonly code: string }>) => ({
  description: refusals.map((refusal) => `${refusal.code} (${refusal._tag})`).join(", "),
  ...(refusalHeaders[status] === undefined ? {} : { headers: refusalHeaders[status] }),
  content: jsonContent({
    allOf: [errorBody, { type: "object", properties: { error: { type: "object", properties: { code: { type: "string", enum: refusals.map((refusal) => refusal.code) } } } } }]
  })
})

/** The error answers of an operation that refuses with `errors`: one per status, with the codes it carries. */
const refusals = (...errors: ReadonlyArray<RefusalClass>) => {
  const byStatus = new Map<number, Array<InstanceType<RefusalClass>>>()
  for (const error of errors) {
    const instance = new error({ message: "", retryAfterSeconds: 0 })
    byStatus.set(instance.status, [...(byStatus.get(instance.status) ?? []), instance])
  }
  return Object.fromEntries(Array.from(byStatus, ([status, instances]) => [String(status), refusalResponse(status, instances)]))
}

const bearer = [{ bearer: [] }]
const pollHint = { "X-Poll-After-Ms": integerHeader("While the task has not finished: the suggested wait before the next poll, longer while many clients poll") }
const taskIdParameter = { name: "id", in: "path", required: true, schema: jsonSchema(TaskId) }

const paths = {
  "/model/v1/generation": {
    post: {
      summary: "Create a task",
      security: bearer,
      parameters: [{ name: "Idempotency-Key", in: "header", required: false, schema: jsonSchema(IdempotencyKey) }],
      requestBody: { required: true, content: jsonContent(jsonSchema(CreateTaskBody)) },
      responses: {
        "200": { description: "The new task, status pending", headers: pollHint, content: jsonContent(task) },
        ...refusals(
          InvalidParametersError,
          UnsupportedModelError,
          VideoUrlRefusedError,
          UnauthorizedError,
          VideoNotFoundError,
          PayloadTooLargeError,
          RequestTimeoutError,
          IdempotencyMismatchError,
          RateLimitedError
        )
      }
    }
  },
  "/model/v1/generation/task/{id}": {
    get: {
      summary: "Read a task",
      security: bearer,
      parameters: [taskIdParameter],
      responses: {
        "200": { description: "The task", headers: pollHint, content: jsonContent(task) },
        ...refusals(UnauthorizedError, NotFoundError, RateLimitedError)
      }
    }
  },
  "/model/v1/generation/task/{id}/cancel": {
    post: {
      summary: "Cancel a task that has not finished",
      security: bearer,
      parameters: [taskIdParameter],
      responses: {
        "202": { description: "The cancelled task", content: jsonContent(task) },
        ...refusals(UnauthorizedError, NotFoundError, ConflictError, RateLimitedError)
      }
    }
  },
  "/model/v1/videos": {
    post: {
      summary: "Upload a video: a multipart field file, or the raw body",
      security: bearer,
      requestBody: {
        required: true,
        content: {
          "multipart/form-data": { schema: { type: "object", properties: { file: { type: "string", contentMediaType: "video/mp4" } }, required: ["file"] } },
          "video/mp4": {},
          "video/quicktime": {}
        }
      },
      responses: {
        "200": { description: "The stored upload", content: jsonContent(jsonSchema(UploadedVideo)) },
        ...refusals(InvalidParametersError, UnauthorizedError, RequestTimeoutError, VideoTooLargeError, UnsupportedMediaTypeError, RateLimitedError)
      }
    }
  },
  "/model/v1/files/{key}": {
    get: {
      summary: "A face screenshot, until its session expires",
      parameters: [{ name: "key", in: "path", required: true, schema: jsonSchema(FileKey) }],
      responses: {
        "200": { description: "The JPEG", content: { "image/jpeg": {} } },
        ...refusals(NotFoundError)
      }
    }
  },
  "/healthz": {
    get: { summary: "Liveness", responses: { "200": { description: "Serving", content: jsonContent(jsonSchema(Health)) } } }
  },
  "/openapi.json": {
    get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1", content: jsonContent({ type: "object" }) } } }
  }
}

// The result travels as a JSON string (the text field's description points here): its schema is added on its own.
jsonSchema(FaceResult)

/** The document served at `/openapi.json`. */
export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "identify-face",
    version: "0.1.0",
    description:
      "Finds every face in a short video that can be lip-synced, when each is on screen, and a screenshot of each. " +
      "A task's result is a FaceResult object (#/components/schemas/FaceResult), as a JSON string in output[0].content[0].text. " +
      `Error codes: ${codes.join(", ")}. ` +
      "A method a path does not list is answered 405 with an Allow header (components.responses.MethodNotAllowed)."
  },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    schemas: definitions,
    responses: { MethodNotAllowed: refusals(MethodNotAllowedError)["405"] }
  },
  paths
}
