/**
 * The OpenAPI 3.1 document of the API, made from the same Schemas the server decodes and
 * encodes with, so that it cannot drift from what is served.
 *
 * @since 0.1.0
 */
import * as JSONSchema from "effect/JSONSchema"
import type * as Schema from "effect/Schema"
import { ErrorBody, codes } from "./Errors.js"
import { CreateTaskBody, FaceResult, TaskObject, UploadedVideo } from "./Wire.js"

const definitions: Record<string, JSONSchema.JsonSchema7> = {}
const ref = (schema: Schema.Schema.Any) =>
  JSONSchema.fromAST(schema.ast, { definitions, definitionPath: "#/components/schemas/", target: "openApi3.1" })

const errorRef = ref(ErrorBody)
const taskRef = ref(TaskObject)
const jsonContent = (schema: unknown) => ({ "application/json": { schema } })
const error = (description: string) => ({ description, content: jsonContent(errorRef) })
const auth = [{ bearer: [] }]
const unauthorized = error("Bearer key missing or wrong (code 401)")
const rateLimited = {
  ...error("Rate limited (code 429)"),
  headers: { "Retry-After": { schema: { type: "integer" }, description: "Seconds to wait" } }
}
const taskIdParameter = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^task_[0-9a-hjkmnp-tv-z]{26}$" }
}
const pollHint = { "X-Poll-After-Ms": { schema: { type: "integer" }, description: "Suggested wait before the next poll, while the task has not finished" } }

/** The document served at `/openapi.json`. */
export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "identify-face",
    version: "0.1.0",
    description:
      "Finds every face in a short video that can be lip-synced, when each is on screen, and a screenshot of each. " +
      `Error codes: ${codes.join(", ")}. A task's result is the FaceResult object, as a JSON string in output[0].content[0].text.`
  },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    schemas: { ...definitions, FaceResult: ref(FaceResult) }
  },
  paths: {
    "/model/v1/generation": {
      post: {
        summary: "Create a task",
        security: auth,
        parameters: [{ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string", maxLength: 255 } }],
        requestBody: { required: true, content: jsonContent(ref(CreateTaskBody)) },
        responses: {
          "200": { description: "The new task, status pending", content: jsonContent(taskRef), headers: pollHint },
          "400": error("Invalid parameters (014002101), unsupported model (014002102) or refused video_url (014002104)"),
          "401": unauthorized,
          "404": error("video_id unknown or expired (014002103)"),
          "413": error("Body larger than 1 MB (code 413)"),
          "422": error("Idempotency-Key used with another body (code 422)"),
          "429": rateLimited
        }
      }
    },
    "/model/v1/generation/task/{id}": {
      get: {
        summary: "Read a task",
        security: auth,
        parameters: [taskIdParameter],
        responses: {
          "200": { description: "The task", content: jsonContent(taskRef), headers: pollHint },
          "401": unauthorized,
          "404": error("No such task for this key (code 404)"),
          "429": rateLimited
        }
      }
    },
    "/model/v1/generation/task/{id}/cancel": {
      post: {
        summary: "Cancel a task that has not finished",
        security: auth,
        parameters: [taskIdParameter],
        responses: {
          "202": { description: "The cancelled task", content: jsonContent(taskRef) },
          "401": unauthorized,
          "404": error("No such task for this key (code 404)"),
          "409": error("The task has already finished (code 409)"),
          "429": rateLimited
        }
      }
    },
    "/model/v1/videos": {
      post: {
        summary: "Upload a video",
        security: auth,
        requestBody: {
          required: true,
          content: {
            "multipart/form-data": { schema: { type: "object", properties: { file: { type: "string", format: "binary" } }, required: ["file"] } },
            "video/mp4": { schema: { type: "string", format: "binary" } },
            "video/quicktime": { schema: { type: "string", format: "binary" } }
          }
        },
        responses: {
          "200": { description: "The stored upload", content: jsonContent(ref(UploadedVideo)) },
          "400": error("Malformed multipart body (014002101)"),
          "401": unauthorized,
          "413": error("Larger than 100 MB (014002111)"),
          "415": error("Not multipart/form-data, video/mp4 or video/quicktime (code 415)"),
          "429": rateLimited
        }
      }
    },
    "/model/v1/files/{key}": {
      get: {
        summary: "A face screenshot",
        parameters: [{ name: "key", in: "path", required: true, schema: { type: "string", pattern: "^[A-Za-z0-9_-]{43}\\.jpg$" } }],
        responses: {
          "200": { description: "JPEG", content: { "image/jpeg": { schema: { type: "string", format: "binary" } } } },
          "404": error("Unknown or expired (code 404)")
        }
      }
    },
    "/healthz": {
      get: { summary: "Liveness", responses: { "200": { description: "Serving", content: jsonContent({ type: "object", properties: { status: { const: "ok" } } }) } } }
    },
    "/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1", content: jsonContent({ type: "object" }) } } } }
  }
} as const
