/**
 * identify-face on Node: video intake, on-disk stores, the ffprobe checks, the real analysis and
 * the callback sender.
 *
 * @since 0.1.0
 */
export * as AnalysisProcess from "./AnalysisProcess.js"
export * as FileArtifactStore from "./FileArtifactStore.js"
export * as FileVideoStore from "./FileVideoStore.js"
export * as NodeFaceAnalyzer from "./NodeFaceAnalyzer.js"
export * as NodeServer from "./NodeServer.js"
export * as SqliteStore from "./SqliteStore.js"
export * as UrlFetcher from "./UrlFetcher.js"
export * as WebhookSender from "./WebhookSender.js"
