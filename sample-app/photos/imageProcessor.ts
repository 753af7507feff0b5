/** One rendered image: its bytes, media type and size in pixels. */
export interface RenderedImage {
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
}

/** What an {@link ImageProcessor} makes of one photo. */
export interface ProcessedPhoto {
  /** The image the product page shows: upright, metadata stripped, bounded in size. */
  readonly main: RenderedImage;
  /** A small copy for lists. */
  readonly thumbnail: RenderedImage;
}

/**
 * Turns an uploaded photo into what the shop serves. A port so that the intake is tested without native code and
 * so that the image library can change: `createSharpImageProcessor` is the implementation.
 */
export interface ImageProcessor {
  /**
   * Decodes `input`, applies its EXIF orientation, strips its metadata (GPS, camera, owner) and renders the main
   * image and the thumbnail. Throws `UnsupportedMediaType` when the bytes are not an image it can read, so that the
   * intake can tell the photographer; any other error is the server's.
   */
  process(input: Uint8Array): Promise<ProcessedPhoto>;
}
