/**
 * The Hello Retail photo intake: the Twilio MMS webhook, image processing and the served images.
 * @see docs/hello-retail-photos.md
 * @module
 */
export { createPhotoIntake, imagePath, imagesPath, webhookPath } from './photoIntake.ts';
export type { PhotoIntakeOptions } from './photoIntake.ts';
export { receivePhoto } from './receivePhoto.ts';
export type { IntakeLogger, OpenAssignment, PhotoEvents, PhotoIntakeStore, PhotoMessage, ReceiveOutcome, RejectionReason } from './receivePhoto.ts';
export type { ImageProcessor, ProcessedPhoto, RenderedImage } from './imageProcessor.ts';
export { createSharpImageProcessor } from './sharpImageProcessor.ts';
export type { SharpImageProcessorOptions, SharpLib } from './sharpImageProcessor.ts';
export { fetchMediaOverHttp } from './fetchMedia.ts';
export type { FetchMedia, FetchMediaOptions, FetchedMedia } from './fetchMedia.ts';
export { computeTwilioSignature, verifyTwilioSignature } from './twilioSignature.ts';
export { photoStreamId, photoBlobKey } from './photoKeys.ts';
