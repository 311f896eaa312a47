/**
 * The served `/openapi.json` against an independent OpenAPI 3.1 validator, and against the
 * answers the API really gives: a request to the double's server for every documented path,
 * method and status, each answer checked against the document's own schema (JSON Schema 2020-12,
 * with ajv), its headers and codes; and every answer seen is documented.
 */
import { UnsupportedResolutionError } from "@identify-face/core/Errors"
import type { FaceResult, TaskObject } from "@identify-face/core/Wire"
import { TestServer } from "@identify-face/testing"
import * as Duration from "effect/Duration"
import { Validator } from "@seriousme/openapi-schema-validator"
import { Ajv2020 } from "ajv/dist/2020.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { finished, json, makeApi } from "../src/internal/api.js"
import type { Answer } from "../src/internal/api.js"

interface Header {
  readonly schema: object
}
interface Response {
  readonly headers?: Readonly<Record<string, Header>>
  readonly content?: Readonly<Record<string, { readonly schema?: { readonly allOf?: ReadonlyArray<CodeConstraint> } }>>
}
interface CodeConstraint {
  readonly properties?: { readonly error: { readonly properties: { readonly code: { readonly enum: ReadonlyArray<string> } } } }
}
interface Document {
  readonly paths: Readonly<Record<string, Readonly<Record<string, { readonly responses: Readonly<Record<string, Response>> }>>>>
  readonly components: { readonly schemas: Readonly<Record<string, unknown>>; readonly responses: Readonly<Record<string, Response>> }
}

/** One answer of the API, to the documented path `template`. */
interface Exchange {
  readonly method: string
  readonly path: string
  readonly template: string
  readonly answer: Answer
}

const MODEL = "kirin_identify_face"
const KEY = "openapi-key-a"
const OTHER_KEY = "openapi-key-b"
const url = {
  plain: "https://videos.example.com/clip.mp4",
  slow: "https://videos.example.com/an-hour-long-analysis.mp4",
  lowResolution: "https://videos.example.com/640x480.mp4"
}
// Headers of this API's own that a client acts on: each one answered must be documented.
const apiHeaders = ["x-poll-after-ms", "retry-after", "allow", "www-authenticate"]

/** A URI of a place in the document, for ajv: JSON pointer segments, each escaped. */
const at = (...segments: ReadonlyArray<string>) =>
  `openapi.json#/${segments.map((segment) => encodeURIComponent(segment.replaceAll("~", "~0").replaceAll("/", "~1"))).join("/")}`

let document: Document
let exchanges: ReadonlyArray<Exchange> = []
const servers: Array<TestServer.StartedServer> = []
const ajv = new Ajv2020({ strict: true, allErrors: true })
// The document's own fields, so that ajv reads it whole and resolves `#/components/...` in it.
ajv.addVocabulary(["openapi", "info", "components", "paths"])

const validate = (ref: string, value: unknown) => {
  const validator = ajv.getSchema(ref)
  if (validator === undefined) throw new Error(`the document has no schema at ${ref}`)
  return validator(value) ? [] : (validator.errors ?? [])
}

const templateOf = (path: string) => {
  const template = Object.keys(document.paths).find((candidate) =>
    new RegExp(`^${candidate.replace(/\{[^}]+\}/g, "[^/]+").replaceAll(".", "\\.")}$`).test(path)
  )
  if (template === undefined) throw new Error(`no documented path matches ${path}`)
  return template
}

/** Where the answer of `exchange` is documented: its operation's response, or the 405 of every path. */
const documentedAt = ({ method, template, answer }: Exchange): ReadonlyArray<string> | undefined => {
  const operation = document.paths[template]?.[method.toLowerCase()]
  if (operation === undefined) return answer.status === 405 ? ["components", "responses", "MethodNotAllowed"] : undefined
  return operation.responses[String(answer.status)] === undefined ? undefined : ["paths", template, method.toLowerCase(), "responses", String(answer.status)]
}

const responseAt = (place: ReadonlyArray<string>) =>
  place[0] === "components" ? document.components.responses[place[2] ?? ""] : document.paths[place[1] ?? ""]?.[place[2] ?? ""]?.responses[place[4] ?? ""]

const errorCode = (answer: Answer) => (answer.status >= 400 ? json<{ error: { code: string } }>(answer).error.code : undefined)

const taskOf = (answer: Answer) => json<TaskObject>(answer)
/** A request body that sends `start` and then nothing, never ending. */
const stalledBody = (start: string) =>
  new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(new TextEncoder().encode(start)) })
const resultOf = (task: TaskObject) => JSON.parse(task.output?.[0]?.content[0]?.text ?? "null") as FaceResult

const completedTask = () => {
  const answer = exchanges.find(({ answer }) => answer.status === 200 && taskOf(answer).status === "completed")?.answer
  if (answer === undefined) throw new Error("no task completed")
  return taskOf(answer)
}

beforeAll(async () => {
  const recorded: Array<Omit<Exchange, "template">> = []
  const record = (request: string, answer: Answer) => {
    const [method = "", path = ""] = request.split(" ")
    recorded.push({ method, path, answer })
  }
  const main = await TestServer.startServer({
    apiKeys: [KEY, OTHER_KEY],
    config: { maxVideoBytes: 1024, concurrency: 4, bodyIdleTimeout: Duration.millis(200) },
    analyzer: {
      videos: {
        [url.slow]: { delay: "1 hour" },
        [url.lowResolution]: { failure: new UnsupportedResolutionError({ message: "resolution 640x480 is not 720p or 1080p" }) }
      }
    }
  })
  // One request a key, refilled after 100 s: every request after the first is rate limited.
  const limited = await TestServer.startServer({ apiKeys: [KEY], rateLimit: { perSecond: 0.01, burst: 1 } })
  servers.push(main, limited)
  const api = makeApi(main.url, KEY, record)
  const otherTenant = makeApi(main.url, OTHER_KEY, record)
  const anonymous = { key: null }

  await api.send("GET", "/healthz")
  document = json<Document>(await api.send("GET", "/openapi.json"))
  ajv.addSchema(document, "openapi.json")

  const slow = taskOf(await api.create({ model: MODEL, video_url: url.slow }))
  const plain = taskOf(await api.create({ model: MODEL, video_url: url.plain }, { idempotencyKey: "openapi-test-1" }))
  const lowResolution = taskOf(await api.create({ model: MODEL, video_url: url.lowResolution }))
  await api.create({ model: MODEL, video_url: url.slow }, { idempotencyKey: "openapi-test-1" })
  await api.create({ model: MODEL, video_url: url.plain }, anonymous)
  await api.create({ model: MODEL })
  await api.create({ model: "another_model", video_url: url.plain })
  await api.create({ model: MODEL, video_url: "http://127.0.0.1/clip.mp4" })
  await api.create({ model: MODEL, video_id: `vid_${"0".repeat(26)}` })
  await api.createRaw(JSON.stringify({ model: MODEL, video_url: url.plain, padding: "x".repeat(1_048_576) }))
  await api.createRaw(stalledBody("{"))

  await api.waitFor(plain.id, finished)
  await api.waitFor(lowResolution.id, finished)
  await api.waitFor(slow.id, (task) => task.status === "processing")
  await api.getTask(slow.id)
  const completed = taskOf(await api.getTask(plain.id))
  await api.getTask(lowResolution.id)
  await api.getTask(plain.id, anonymous)
  await otherTenant.getTask(plain.id)

  await api.cancel(plain.id)
  await api.cancel(slow.id)
  await api.getTask(slow.id)
  await api.cancel(slow.id, anonymous)
  await otherTenant.cancel(lowResolution.id)

  await api.upload("a raw clip", "video/mp4")
  await api.uploadForm("a multipart clip")
  await api.upload("a clip", "text/plain")
  await api.upload("x".repeat(2048), "video/mp4")
  await api.upload("no parts here", "multipart/form-data; boundary=abc")
  await api.upload("a raw clip", "video/mp4", anonymous)
  await api.upload(stalledBody("the first bytes of a clip"), "video/mp4")

  const imagePath = new URL(resultOf(completed).data.face_data[0]?.face_image ?? "").pathname
  await api.send("GET", imagePath)
  await api.send("GET", `/model/v1/files/${"A".repeat(43)}.jpg`)

  const taskPath = `/model/v1/generation/task/${plain.id}`
  for (const path of ["/healthz", "/openapi.json", "/model/v1/generation", taskPath, `${taskPath}/cancel`, "/model/v1/videos", imagePath]) {
    await api.send("DELETE", path)
  }

  const rateLimited = makeApi(limited.url, KEY, record)
  const first = taskOf(await rateLimited.create({ model: MODEL, video_url: url.plain }))
  await rateLimited.create({ model: MODEL, video_url: url.plain })
  await rateLimited.getTask(first.id)
  await rateLimited.cancel(first.id)
  await rateLimited.upload("a raw clip", "video/mp4")

  exchanges = recorded.map((exchange) => ({ ...exchange, template: templateOf(exchange.path) }))
})
afterAll(() => Promise.all(servers.map((server) => server.close())))

describe("/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document, every $ref resolved", async () => {
    const served = exchanges.find(({ method, path }) => method === "GET" && path === "/openapi.json")
    if (served === undefined) throw new Error("/openapi.json was not served")
    const validator = new Validator()
    expect(await validator.validate(json(served.answer))).toEqual({ valid: true })
    expect(validator.version).toBe("3.1")
  })

  it("documents every answer the API gives: status, content type, body, headers and code", () => {
    for (const exchange of exchanges) {
      const { method, template, answer } = exchange
      const where = `${method} ${template} answered ${answer.status}`
      const place = documentedAt(exchange)
      expect(place, `${where}: not documented`).toBeDefined()
      const response = responseAt(place ?? [])
      const mediaType = (answer.headers.get("content-type") ?? "").split(";")[0] ?? ""
      expect(Object.keys(response?.content ?? {}), where).toContain(mediaType)
      if (mediaType === "application/json") {
        expect(validate(at(...(place ?? []), "content", mediaType, "schema"), JSON.parse(answer.text)), where).toEqual([])
      } else {
        expect(Array.from(answer.bytes.slice(0, 3)), `${where}: a JPEG`).toEqual([0xff, 0xd8, 0xff])
      }
      const documentedHeaders = Object.keys(response?.headers ?? {}).map((name) => name.toLowerCase())
      for (const name of apiHeaders.filter((header) => answer.headers.has(header))) {
        expect(documentedHeaders, `${where}: header ${name}`).toContain(name)
      }
      for (const [name, header] of Object.entries(response?.headers ?? {})) {
        const value = answer.headers.get(name)
        if (value === null) continue
        const typed = (header.schema as { type?: string }).type === "integer" ? Number(value) : value
        expect(validate(at(...(place ?? []), "headers", name, "schema"), typed), `${where}: header ${name}`).toEqual([])
      }
    }
  })

  it("answers every documented status of every operation, with every code it lists, and 405 on every path", () => {
    const seen = new Map<string, Set<string | undefined>>()
    for (const exchange of exchanges) {
      const key = `${exchange.method} ${exchange.template} ${exchange.answer.status}`
      seen.set(key, (seen.get(key) ?? new Set()).add(errorCode(exchange.answer)))
    }
    for (const [template, operations] of Object.entries(document.paths)) {
      expect(seen.has(`DELETE ${template} 405`), `DELETE ${template} 405`).toBe(true)
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          const key = `${method.toUpperCase()} ${template} ${status}`
          expect(seen.has(key), `${key} was never answered`).toBe(true)
          const listed = response.content?.["application/json"]?.schema?.allOf?.[1]?.properties?.error.properties.code.enum
          if (listed !== undefined) expect([...(seen.get(key) ?? [])].sort(), key).toEqual([...listed].sort())
        }
      }
    }
  })

  it("answers 405 with the documented methods of the path in Allow", () => {
    for (const { method, template, answer } of exchanges.filter((exchange) => exchange.answer.status === 405)) {
      expect(answer.headers.get("allow"), `${method} ${template}`).toBe(
        Object.keys(document.paths[template] ?? {}).map((documented) => documented.toUpperCase()).join(", ")
      )
    }
  })

  it("suggests a poll interval exactly while a task has not finished", () => {
    const taskAnswers = exchanges.filter(({ template, answer }) => template.startsWith("/model/v1/generation") && answer.status < 300)
    expect(new Set(taskAnswers.map(({ answer }) => taskOf(answer).status))).toEqual(new Set(["pending", "processing", "completed", "failed", "cancelled"]))
    for (const { answer } of taskAnswers) {
      const task = taskOf(answer)
      expect(answer.headers.has("x-poll-after-ms"), task.status).toBe(!finished(task))
    }
  })

  it("documents the result carried in the text field as the FaceResult schema, and the ids of real answers in its parameters", () => {
    const text = at("components", "schemas", "Task", "properties", "output", "items", "properties", "content", "items", "properties", "text")
    const textSchema = ajv.getSchema(text)?.schema as { description: string; contentMediaType: string }
    expect(textSchema).toMatchObject({ contentMediaType: "application/json", description: expect.stringContaining("#/components/schemas/FaceResult") })
    const completed = completedTask()
    const result = resultOf(completed)
    expect(result.data.face_data).toHaveLength(1)
    expect(validate(at("components", "schemas", "FaceResult"), result)).toEqual([])

    expect(validate(at("paths", "/model/v1/generation/task/{id}", "get", "parameters", "0", "schema"), completed.id)).toEqual([])
    const key = new URL(result.data.face_data[0]?.face_image ?? "").pathname.split("/").at(-1)
    expect(validate(at("paths", "/model/v1/files/{key}", "get", "parameters", "0", "schema"), key)).toEqual([])
    expect(validate(at("paths", "/model/v1/generation", "post", "parameters", "0", "schema"), "openapi-test-1")).toEqual([])
    expect(validate(at("paths", "/model/v1/generation", "post", "parameters", "0", "schema"), "with space")).not.toEqual([])
  })
})
