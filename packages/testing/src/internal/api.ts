import type { TaskObject } from "@identify-face/core/Wire"

/** An answer, read whole. */
export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly bytes: Uint8Array
  readonly text: string
}

/** Sees every answer a scenario gets (waits excluded), e.g. to compare implementations. */
export type Recorder = (request: string, answer: Answer) => void

interface SendOptions {
  /** The bearer key; `null` sends no `Authorization`. Default: the api's key. */
  readonly key?: string | null
  readonly headers?: Record<string, string>
  readonly body?: BodyInit
}

interface CreateOptions {
  readonly key?: string | null
  readonly idempotencyKey?: string
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Requests to an identify-face server over plain `fetch`, as any client would send them. */
export const makeApi = (baseUrl: string, key: string, record: Recorder = () => undefined) => {
  const send = async (method: string, path: string, options: SendOptions = {}): Promise<Answer> => {
    const headers = new Headers(options.headers)
    const bearer = options.key === undefined ? key : options.key
    if (bearer !== null) headers.set("authorization", `Bearer ${bearer}`)
    const body = options.body
    // A streamed body must be sent half-duplex; the DOM typings do not know `duplex` yet.
    const init: RequestInit & { duplex?: "half" } = { method, headers, ...(body === undefined ? {} : { body, duplex: "half" }) }
    const response = await fetch(`${baseUrl}${path}`, init)
    const bytes = new Uint8Array(await response.arrayBuffer())
    const answer = { status: response.status, headers: response.headers, bytes, text: new TextDecoder().decode(bytes) }
    record(`${method} ${path.slice(0, 80)}`, answer)
    return answer
  }
  const taskPath = (id: string) => `/model/v1/generation/task/${id}`
  const api = {
    baseUrl,
    send,
    /** Creates a task with this body as it is (malformed JSON, a stream). */
    createRaw: (body: BodyInit, options: CreateOptions = {}) =>
      send("POST", "/model/v1/generation", {
        ...(options.key === undefined ? {} : { key: options.key }),
        headers: {
          "content-type": "application/json",
          ...(options.idempotencyKey === undefined ? {} : { "idempotency-key": options.idempotencyKey })
        },
        body
      }),
    /** Creates a task with this value as JSON. */
    create: (body: unknown, options: CreateOptions = {}) => api.createRaw(JSON.stringify(body), options),
    getTask: (id: string, options: SendOptions = {}) => send("GET", taskPath(id), options),
    cancel: (id: string, options: SendOptions = {}) => send("POST", `${taskPath(id)}/cancel`, options),
    upload: (body: BodyInit, contentType: string | undefined, options: SendOptions = {}) =>
      send("POST", "/model/v1/videos", { ...options, headers: contentType === undefined ? {} : { "content-type": contentType }, body }),
    uploadForm: (content: string | Uint8Array<ArrayBuffer>, field = "file", options: SendOptions = {}) => {
      const form = new FormData()
      form.append(field, new Blob([content], { type: "video/mp4" }), "clip.mp4")
      return send("POST", "/model/v1/videos", { ...options, body: form })
    },
    /** Polls a task, unrecorded, until `done` holds; fails after 5 s. */
    waitFor: async (id: string, done: (task: TaskObject) => boolean, options: SendOptions = {}): Promise<TaskObject> => {
      for (let waited = 0; waited < 5000; waited += 10) {
        const response = await fetch(`${baseUrl}${taskPath(id)}`, { headers: { authorization: `Bearer ${options.key ?? key}` } })
        const task = (await response.json()) as TaskObject
        if (done(task)) return task
        await sleep(10)
      }
      throw new Error(`task ${id} did not reach the awaited state in 5 s`)
    }
  }
  return api
}

/** The requests of {@link makeApi}. */
export type Api = ReturnType<typeof makeApi>

/** An answer's body as JSON. */
export const json = <A = Record<string, unknown>>(answer: Answer): A => JSON.parse(answer.text) as A

/** Whether a task has finished. */
export const finished = (task: TaskObject) => task.status === "completed" || task.status === "failed" || task.status === "cancelled"
