/**
 * The task engine over in-memory stores the test keeps hold of, so that it can look into them,
 * seed them before a start, and outlive an engine's scope (shutdown, restart).
 */
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as ArtifactStore from "../../src/ArtifactStore.js"
import * as Config from "../../src/Config.js"
import { FaceAnalyzer } from "../../src/FaceAnalyzer.js"
import type { FaceAnalyzerService } from "../../src/FaceAnalyzer.js"
import type { TaskId } from "../../src/Ids.js"
import * as Pricing from "../../src/Pricing.js"
import type { Task } from "../../src/Task.js"
import * as TaskEngine from "../../src/TaskEngine.js"
import * as TaskStore from "../../src/TaskStore.js"
import * as VideoSource from "../../src/VideoSource.js"
import * as VideoStore from "../../src/VideoStore.js"
import { video } from "./fixtures.js"

/** The stores of one test, and what was done to the task store. */
export interface Stores {
  readonly tasks: TaskStore.TaskStoreService
  readonly uploads: VideoStore.VideoStoreService
  readonly artifacts: ArtifactStore.ArtifactStoreService
  /** Every task state written (inserted or modified), in order. */
  readonly written: ReadonlyArray<Task>
  /** The ids the engine read or changed. */
  readonly touched: ReadonlyArray<TaskId>
}

/** Fresh in-memory stores; the task store records what is written to it and which ids it is asked about. */
export const makeStores = Effect.gen(function* () {
  const memory = yield* TaskStore.makeMemory
  const written: Array<Task> = []
  const touched: Array<TaskId> = []
  const tasks: TaskStore.TaskStoreService = {
    ...memory,
    insert: (task) => Effect.tap(memory.insert(task), () => written.push(task)),
    get: (id) => Effect.suspend(() => (touched.push(id), memory.get(id))),
    modify: <E>(id: TaskId, f: (task: Task) => Either.Either<Task, E>) =>
      Effect.suspend(() => (touched.push(id), memory.modify(id, f))).pipe(
        Effect.tap((changed) => Effect.sync(() => Option.map(changed, (task) => written.push(task))))
      )
  }
  return {
    tasks,
    uploads: yield* VideoStore.makeMemory,
    artifacts: yield* ArtifactStore.makeMemory,
    written,
    touched
  } satisfies Stores
})

/** The statuses a task went through, with its progress while processing. */
export const historyOf = (stores: Stores, id: TaskId) =>
  stores.written.filter((task) => task.id === id).map((task) => (task._tag === "processing" ? `processing ${task.progress}` : task._tag))

/** Starts an engine over the stores for the length of the scope; URL videos are served at once. */
export const startEngine = (
  stores: Stores,
  analyze: FaceAnalyzerService["analyze"],
  config: Partial<Config.IdentifyFaceConfig> = {}
): Effect.Effect<TaskEngine.TaskEngineService, never, Scope.Scope> =>
  Effect.gen(function* () {
    const source = yield* VideoSource.make({ fetchUrl: () => Effect.succeed(video()) }).pipe(
      Effect.provideService(VideoStore.VideoStore, stores.uploads)
    )
    return yield* TaskEngine.make.pipe(
      Effect.provideService(Config.Config, Config.make(config)),
      Effect.provideService(TaskStore.TaskStore, stores.tasks),
      Effect.provideService(VideoStore.VideoStore, stores.uploads),
      Effect.provideService(ArtifactStore.ArtifactStore, stores.artifacts),
      Effect.provideService(VideoSource.VideoSource, source),
      Effect.provideService(FaceAnalyzer, { analyze }),
      Effect.provideService(Pricing.Pricing, Pricing.free)
    )
  })
