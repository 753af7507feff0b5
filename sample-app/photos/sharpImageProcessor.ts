import type { SharpConstructor, SharpOptions } from 'sharp';
import { UnilogError, isUnilogError } from '../../src/index.ts';
import type { ImageProcessor, RenderedImage } from './imageProcessor.ts';

/** sharp's default export, the function `sharp(input, options)`. */
export type SharpLib = SharpConstructor;

/** Options of {@link createSharpImageProcessor}. */
export interface SharpImageProcessorOptions {
  /** sharp itself, when the caller has loaded it. @default `import('sharp')` on the first photo (a native module: not loaded until needed) */
  readonly lib?: SharpLib;
  /** The longest side of the main image, in pixels; smaller photos are not enlarged. @default 1200 */
  readonly mainSize?: number;
  /** The longest side of the thumbnail, in pixels. @default 300 */
  readonly thumbnailSize?: number;
  /** The output format. @default 'jpeg' */
  readonly format?: 'jpeg' | 'webp';
  /** Encoder quality, 1 to 100. @default 82 */
  readonly quality?: number;
  /** Photos with more pixels are refused before they are decoded (decompression bombs). @default 40_000_000 */
  readonly maxInputPixels?: number;
}

/** Formats a phone sends as photos; SVG and PDF (which sharp also reads) are refused: they are documents, not photos. */
const photoFormats = new Set(['jpeg', 'png', 'webp', 'gif', 'heif', 'avif', 'tiff']);

/**
 * An {@link ImageProcessor} on sharp: auto-orients by EXIF (`autoOrient`, the same as `rotate()` without an
 * angle), strips metadata (sharp writes none unless asked with `withMetadata`/`keepMetadata`, which this never
 * calls) and renders a main image and a thumbnail.
 * @example
 * const processor = createSharpImageProcessor({ format: 'webp' });
 */
export function createSharpImageProcessor(options: SharpImageProcessorOptions = {}): ImageProcessor {
  const mainSize = options.mainSize ?? 1200;
  const thumbnailSize = options.thumbnailSize ?? 300;
  const format = options.format ?? 'jpeg';
  const quality = options.quality ?? 82;
  const sharpOptions: SharpOptions = { limitInputPixels: options.maxInputPixels ?? 40_000_000, failOn: 'error' };
  let lib: Promise<SharpLib> | undefined = options.lib && Promise.resolve(options.lib);

  const render = async (sharp: SharpLib, input: Uint8Array, size: number): Promise<RenderedImage> => {
    const pipeline = sharp(input, sharpOptions).autoOrient().resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true });
    const encoded = format === 'jpeg' ? pipeline.jpeg({ quality, mozjpeg: true }) : pipeline.webp({ quality });
    const { data, info } = await encoded.toBuffer({ resolveWithObject: true });
    return { body: data, contentType: `image/${format}`, width: info.width, height: info.height };
  };

  return {
    async process(input) {
      // A failed import is forgotten, so that installing sharp needs no restart of the process.
      lib ??= importSharp().catch((error: unknown) => {
        lib = undefined;
        throw error;
      });
      const sharp = await lib;
      try {
        const { format: found } = await sharp(input, sharpOptions).metadata();
        if (!photoFormats.has(found)) throw unsupported(found);
        const [main, thumbnail] = await Promise.all([render(sharp, input, mainSize), render(sharp, input, thumbnailSize)]);
        return { main, thumbnail };
      } catch (cause) {
        // sharp's errors here are about the input (unknown format, truncated data, too many pixels).
        if (isUnilogError(cause)) throw cause;
        throw new UnilogError('UnsupportedMediaType', `The photo cannot be read as an image (${cause instanceof Error ? cause.message : String(cause)}).`, { contentType: 'unknown' }, { cause });
      }
    },
  };
}

function unsupported(format: string): UnilogError<'UnsupportedMediaType'> {
  return new UnilogError('UnsupportedMediaType', `Photos must be JPEG, PNG, WebP, GIF, HEIF, AVIF or TIFF, not ${format}.`, { contentType: `image/${format}` });
}

async function importSharp(): Promise<SharpLib> {
  try {
    return (await import('sharp')).default;
  } catch (cause) {
    throw new UnilogError('ServiceUnavailable', 'sharp cannot be loaded (a native module: reinstall it with `npm ci` on this platform), or pass it to createSharpImageProcessor as the `lib` option.', { reason: 'sharp not loadable' }, { cause });
  }
}
