using DeepShrink.Core.Kernels;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// Plan-time rewrite of a convolution on a small input: kernel rows and columns that only ever meet the zero padding
/// (for every output position) are cut off the weight, and the padding shrinks by as much, so the convolution computes
/// the same outputs from a smaller kernel. A 3 x 3 convolution with padding 1 on a 1 x 1 map (ResNet18's last stage at
/// a 32 x 32 input) becomes a 1 x 1 convolution: a ninth of the multiply-adds and of the weight bytes read per image.
/// </summary>
/// <remarks>
/// Per axis (input size n, kernel k, stride s, padding p, dilation d, n_out outputs), tap t reads input rows
/// o s - p + t d for o = 0 .. n_out - 1; it is dead when none of them lies in [0, n). The live taps form one interval
/// [t0, t1]; the cropped axis has kernel t1 - t0 + 1 and padding p - t0 d (output o still starts at o s - p + t0 d),
/// and is used only when that padding is non-negative and gives the same n_out (the geometry has one padding per axis,
/// the same on both sides). Dropped taps contribute exact zeros, so only the summation order can differ. Only dense
/// float weights without an input transform are cropped (a codec's stored form is left as it is).
/// </remarks>
internal static class ConvTapCrop
{
    /// <summary>The cropped geometry and weight, or null when no tap is dead or the weight is not a dense float tensor.</summary>
    public static (ConvGeometry Geometry, EncodedTensor Weight, string Note)? TryCrop(in ConvGeometry g, EncodedTensor w, bool hasTransform, DszReadOptions read)
    {
        if (hasTransform || w.Codec is not (DenseCodec.F32Name or DenseCodec.F16Name) || w.Shape.Count != 4) return null;
        var rows = Axis(g.H, g.OH, g.KH, g.SH, g.PH, g.DH);
        var cols = Axis(g.W, g.OW, g.KW, g.SW, g.PW, g.DW);
        if (rows.T0 == 0 && rows.K == g.KH && cols.T0 == 0 && cols.K == g.KW) return null;
        var cropped = g with { KH = rows.K, PH = rows.Pad, KW = cols.K, PW = cols.Pad }; // same OH, OW: Axis checked each
        var full = w.Decode(read.MaxTensorElements);
        int o = w.Shape[0], c = w.Shape[1];
        var data = new float[(long)o * c * rows.K * cols.K];
        int at = 0;
        for (int oc = 0; oc < o * c; oc++)
            for (int ky = 0; ky < rows.K; ky++)
            {
                int src = (oc * g.KH + rows.T0 + ky) * g.KW + cols.T0;
                full.AsSpan(src, cols.K).CopyTo(data.AsSpan(at, cols.K));
                at += cols.K;
            }
        var weight = DenseCodec.EncodeF32(data, [o, c, rows.K, cols.K]);
        return (cropped, weight, $"taps {g.KH}x{g.KW}->{rows.K}x{cols.K}");
    }

    /// <summary>First live tap, live kernel size and the padding of the cropped axis (the whole axis when it cannot be cropped).</summary>
    internal static (int T0, int K, int Pad) Axis(int n, int nOut, int k, int s, int p, int d)
    {
        int t0 = -1, t1 = -1;
        for (int t = 0; t < k; t++)
        {
            bool live = false;
            for (int o = 0; o < nOut && !live; o++)
            {
                long i = (long)o * s - p + (long)t * d;
                live = i >= 0 && i < n;
            }
            if (!live) continue;
            if (t0 < 0) t0 = t;
            t1 = t;
        }
        if (t0 < 0) return (0, k, p); // every tap reads padding only: the output is the bias; nothing to gain
        int kk = t1 - t0 + 1, pad = p - t0 * d;
        long span = (long)n + 2 * pad - (long)d * (kk - 1) - 1;
        if (pad < 0 || span < 0 || span / s + 1 != nOut) return (0, k, p);
        return (t0, kk, pad);
    }
}
