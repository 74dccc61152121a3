using DeepShrink.Core;
using DeepShrink.Data;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>
/// Inputs for parity checks of imported image models: real Fashion-MNIST test images, bilinearly
/// resized to the model's H x W, replicated to its channels and normalised; seeded noise when the
/// dataset is absent or the input is not an image.
/// </summary>
public static class ParityInputs
{
    /// <summary>Returns <paramref name="count"/> samples of <paramref name="shape"/> and a description of their source.</summary>
    public static (float[] Data, string Source) Make(int[] shape, int count, Normalization? norm, ulong seed = 2024)
    {
        var files = Directory.Exists(DatasetSpec.FashionMnistDirectory) ? IdxFileSet.Find(DatasetSpec.FashionMnistDirectory, out _) : null;
        if (shape.Length != 3 || files is null)
            return (Tensor.Randn(new Rng(seed), 1f, [count, .. shape]).ContiguousData().ToArray(), $"seeded normal noise (seed {seed})");
        var images = IdxReader.ReadImages(files.TestImages);
        int ih = images.Dimensions[1], iw = images.Dimensions[2], c = shape[0], h = shape[1], w = shape[2];
        if (count > images.Dimensions[0]) throw new CliException($"only {images.Dimensions[0]} test images, {count} requested");
        var data = new float[(long)count * c * h * w];
        var plane = new float[h * w];
        for (int n = 0; n < count; n++)
        {
            Resize(images.Data.AsSpan(n * ih * iw, ih * iw), ih, iw, plane, h, w);
            for (int ch = 0; ch < c; ch++)
            {
                float m = norm?.MeanOf(ch) ?? 0f, s = norm?.StdOf(ch) ?? 1f;
                var dst = data.AsSpan((n * c + ch) * h * w, h * w);
                for (int i = 0; i < plane.Length; i++) dst[i] = (plane[i] - m) / s;
            }
        }
        return (data, $"{count} Fashion-MNIST test images resized to {h}x{w}, {c} channel(s)");
    }

    /// <summary>Bilinear resize (half-pixel centres) of bytes to [0, 1] floats.</summary>
    private static void Resize(ReadOnlySpan<byte> src, int ih, int iw, Span<float> dst, int h, int w)
    {
        for (int y = 0; y < h; y++)
        {
            float sy = Math.Clamp((y + 0.5f) * ih / h - 0.5f, 0, ih - 1);
            int y0 = (int)sy, y1 = Math.Min(y0 + 1, ih - 1);
            float fy = sy - y0;
            for (int x = 0; x < w; x++)
            {
                float sx = Math.Clamp((x + 0.5f) * iw / w - 0.5f, 0, iw - 1);
                int x0 = (int)sx, x1 = Math.Min(x0 + 1, iw - 1);
                float fx = sx - x0;
                float top = src[y0 * iw + x0] * (1 - fx) + src[y0 * iw + x1] * fx;
                float bottom = src[y1 * iw + x0] * (1 - fx) + src[y1 * iw + x1] * fx;
                dst[y * w + x] = (top * (1 - fy) + bottom * fy) / 255f;
            }
        }
    }
}
