/**
 * identify-face core: the wire contract, the task lifecycle, the HTTP API and the typed client.
 *
 * @since 0.1.0
 */
export * as AddressGuard from "./AddressGuard.js"
export * as ArtifactStore from "./ArtifactStore.js"
export * as Authenticator from "./Authenticator.js"
export * as Client from "./Client.js"
export * as Config from "./Config.js"
export * as CreateRequest from "./CreateRequest.js"
export * as Errors from "./Errors.js"
export * as FaceAnalyzer from "./FaceAnalyzer.js"
export * as HttpApi from "./HttpApi.js"
export * as IdempotencyStore from "./IdempotencyStore.js"
export * as Ids from "./Ids.js"
export * as OpenApi from "./OpenApi.js"
export * as Pricing from "./Pricing.js"
export * as RateLimiter from "./RateLimiter.js"
export * as Server from "./Server.js"
export * as Task from "./Task.js"
export * as TaskEngine from "./TaskEngine.js"
export * as TaskStore from "./TaskStore.js"
export * as TaskView from "./TaskView.js"
export * as VideoSource from "./VideoSource.js"
export * as VideoStore from "./VideoStore.js"
export * as Wire from "./Wire.js"
