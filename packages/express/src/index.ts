/**
 * Mount the identify-face API in an Express 5 app.
 *
 * @since 0.1.0
 */
export { identifyFace } from "./IdentifyFace.js"
export type { IdentifyFaceMiddleware, IdentifyFaceOptions } from "./IdentifyFace.js"
