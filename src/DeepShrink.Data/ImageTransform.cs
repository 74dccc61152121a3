namespace DeepShrink.Data;

/// <summary>
/// Pixel-level preparation shared by every dataset: channel conversion (grey replicated to 3
/// channels, RGB to grey with ITU-R BT.601 luma) and bilinear resizing of planar byte images.
/// </summary>
/// <remarks>
/// Bilinear sampling uses pixel centres (the <c>align_corners = false</c> convention of PyTorch and
/// OpenCV): output pixel x reads source coordinate <c>(x + 0.5) * inW / outW - 0.5</c>, clamped to
/// [0, inW - 1], and interpolates the two neighbours; rows likewise. There is no anti-aliasing
/// filter when shrinking. Channel conversion happens before resizing, in float, and each result is
/// rounded once to the nearest byte (halves up).
/// </remarks>
public static class ImageTransform
{
    /// <summary>Luma weights of ITU-R BT.601: Y = 0.299 R + 0.587 G + 0.114 B.</summary>
    public const float LumaR = 0.299f, LumaG = 0.587f, LumaB = 0.114f;

    /// <summary>Resizes one float plane [srcH, srcW] bilinearly into <paramref name="dst"/> [dstH, dstW].</summary>
    /// <exception cref="ArgumentException">A size is not positive or a span is too short.</exception>
    public static void ResizeBilinear(ReadOnlySpan<float> src, int srcH, int srcW, Span<float> dst, int dstH, int dstW)
    {
        if (srcH <= 0 || srcW <= 0 || dstH <= 0 || dstW <= 0) throw new ArgumentException($"sizes must be positive: {srcH}x{srcW} -> {dstH}x{dstW}");
        if (src.Length < srcH * srcW || dst.Length < dstH * dstW) throw new ArgumentException("span too short for the given sizes");
        if (srcH == dstH && srcW == dstW) { src[..(srcH * srcW)].CopyTo(dst); return; }
        Span<int> x0 = dstW <= 1024 ? stackalloc int[dstW] : new int[dstW];
        Span<float> fx = dstW <= 1024 ? stackalloc float[dstW] : new float[dstW];
        for (int x = 0; x < dstW; x++) (x0[x], fx[x]) = Coord(x, srcW, dstW);
        for (int y = 0; y < dstH; y++)
        {
            var (y0, fy) = Coord(y, srcH, dstH);
            int y1 = Math.Min(y0 + 1, srcH - 1);
            var r0 = src.Slice(y0 * srcW, srcW);
            var r1 = src.Slice(y1 * srcW, srcW);
            var d = dst.Slice(y * dstW, dstW);
            for (int x = 0; x < dstW; x++)
            {
                int a = x0[x], b = Math.Min(a + 1, srcW - 1);
                float f = fx[x];
                float top = r0[a] + (r0[b] - r0[a]) * f;
                float bottom = r1[a] + (r1[b] - r1[a]) * f;
                d[x] = top + (bottom - top) * fy;
            }
        }
    }

    private static (int Index, float Frac) Coord(int o, int inSize, int outSize)
    {
        float s = (o + 0.5f) * inSize / outSize - 0.5f;
        if (s < 0) s = 0;
        if (s > inSize - 1) s = inSize - 1;
        int i = (int)s;
        return (i, s - i);
    }

    /// <summary>Rounds a value in [0, 255] to the nearest byte (halves up), clamping outside values.</summary>
    public static byte ToByte(float v) => (byte)Math.Clamp((int)(v + 0.5f), 0, 255);

    /// <summary>
    /// Converts one planar sample [channels, height, width] to [outChannels, outHeight, outWidth]:
    /// channel conversion (1 -> 3 replicates, 3 -> 1 takes BT.601 luma) then bilinear resize.
    /// </summary>
    /// <exception cref="DatasetException">The channel conversion is not 1/3 -> 1/3.</exception>
    public static void Convert(ReadOnlySpan<byte> src, int channels, int height, int width,
        Span<byte> dst, int outChannels, int outHeight, int outWidth)
    {
        int plane = height * width, outPlane = outHeight * outWidth;
        if (src.Length < channels * plane || dst.Length < outChannels * outPlane) throw new ArgumentException("span too short for the given shape");
        if (channels == outChannels && height == outHeight && width == outWidth) { src[..(channels * plane)].CopyTo(dst); return; }
        if (channels != outChannels && !(channels is 1 or 3 && outChannels is 1 or 3))
            throw new DatasetException($"cannot convert {channels}-channel images to {outChannels} channels (only 1 <-> 3)");
        var planes = new float[outChannels * plane];
        if (channels == outChannels)
            for (int i = 0; i < planes.Length; i++) planes[i] = src[i];
        else if (channels == 1)
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < plane; i++) planes[c * plane + i] = src[i];
        else
            for (int i = 0; i < plane; i++)
                planes[i] = LumaR * src[i] + LumaG * src[plane + i] + LumaB * src[2 * plane + i];
        var resized = height == outHeight && width == outWidth ? planes : new float[outChannels * outPlane];
        if (!ReferenceEquals(resized, planes))
            for (int c = 0; c < outChannels; c++)
                ResizeBilinear(planes.AsSpan(c * plane, plane), height, width, resized.AsSpan(c * outPlane, outPlane), outHeight, outWidth);
        for (int i = 0; i < outChannels * outPlane; i++) dst[i] = ToByte(resized[i]);
    }

    /// <summary>
    /// Converts every sample of <paramref name="pixels"/> [N, C, H, W] (see <see cref="Convert"/>);
    /// returns the new bytes and shape, or the inputs unchanged when nothing changes.
    /// </summary>
    public static (byte[] Pixels, int[] Shape) ConvertAll(byte[] pixels, int[] shape, int? outChannels, int? outSize)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(shape);
        int n = shape[0], c = shape[1], h = shape[2], w = shape[3];
        int oc = outChannels ?? c, oh = outSize ?? h, ow = outSize ?? w;
        if (oc == c && oh == h && ow == w) return (pixels, shape);
        int ss = c * h * w, os = oc * oh * ow;
        var result = new byte[(long)n * os];
        for (int i = 0; i < n; i++)
            Convert(pixels.AsSpan(i * ss, ss), c, h, w, result.AsSpan(i * os, os), oc, oh, ow);
        return (result, new[] { n, oc, oh, ow });
    }

    /// <summary>Checks <see cref="DatasetLoadOptions.ImageSize"/> and <see cref="DatasetLoadOptions.Channels"/>.</summary>
    /// <exception cref="DatasetException">Size is not in [1, 4096] or channels is not 1 or 3.</exception>
    public static void CheckOptions(DatasetLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ImageSize is int s && (s < 1 || s > 4096)) throw new DatasetException($"image size {s} must be in [1, 4096]");
        if (options.Channels is int c && c is not (1 or 3)) throw new DatasetException($"channels {c} must be 1 or 3");
        if (options.ChannelOrder is { } order)
        {
            try { Data.ChannelOrder.Check(order, "channel order"); }
            catch (FormatException e) { throw new DatasetException(e.Message, e); }
            if (order.Length is not (1 or 3)) throw new DatasetException($"channel order [{string.Join(", ", order)}] must have 3 entries (colour images)");
        }
    }
}
