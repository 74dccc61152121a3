using System.Numerics;
using System.Text.Json.Nodes;

namespace DeepShrink.Format.Codecs;

/// <summary>
/// <c>lowrank</c>: a weight matrix stored as two factors, <c>W[m, n] = U[m, r] V[r, n]</c>, where
/// <c>m = shape[0]</c> and <c>n</c> is the product of the other dimensions.
/// </summary>
/// <remarks>
/// Truncated SVD of fully connected layers (Denton et al., NeurIPS 2014; Xue et al., Interspeech 2013).
/// "Exact" decoding means bit-identical to <see cref="Product"/>: for every element, float32
/// accumulation starting from +0.0 over <c>k = 0 .. r-1</c> in increasing order, each product and each
/// sum rounded separately (no fused multiply-add). With <c>dtype = f16</c> the factors are rounded to
/// half precision (ties to even) when encoding and the product uses the widened half values.
/// Parameters: <c>rank</c>, <c>dtype</c> (<c>f32</c> | <c>f16</c>). Parts: <c>u</c> ([m, r] row-major),
/// <c>v</c> ([r, n] row-major).
/// </remarks>
public sealed class LowRankCodec : ITensorCodec
{
    /// <summary>Codec name in the header.</summary>
    public const string CodecName = "lowrank";

    /// <summary>The codec instance.</summary>
    public static LowRankCodec Instance { get; } = new();

    private LowRankCodec() { }

    /// <inheritdoc />
    public string Name => CodecName;

    /// <summary>Encodes the factors of a tensor of rank at least 2.</summary>
    /// <param name="u">[m, rank] row-major.</param>
    /// <param name="v">[rank, n] row-major.</param>
    /// <param name="shape">Shape of the product (m = shape[0], n = product of the rest).</param>
    /// <param name="rank">Inner dimension r (0 or more).</param>
    /// <param name="half">Store the factors as float16.</param>
    public static EncodedTensor Encode(ReadOnlySpan<float> u, ReadOnlySpan<float> v, ReadOnlySpan<int> shape, int rank, bool half = false)
    {
        if (shape.Length < 2) throw new ArgumentException("a low-rank tensor needs rank (number of dimensions) at least 2");
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        _ = DeepShrink.Core.ShapeUtil.Numel(shape); // validates the dimensions
        long m = shape[0], n = MatrixCols(shape);
        if (u.Length != m * rank) throw new ArgumentException($"u has {u.Length} elements, expected {m} x {rank}");
        if (v.Length != rank * n) throw new ArgumentException($"v has {v.Length} elements, expected {rank} x {n}");
        var p = new JsonObject { ["rank"] = rank, ["dtype"] = half ? "f16" : "f32" };
        return new EncodedTensor(CodecName, shape, p,
        [
            new("u", half ? RawIO.FloatsToHalfBytes(u) : RawIO.FloatsToBytes(u)),
            new("v", half ? RawIO.FloatsToHalfBytes(v) : RawIO.FloatsToBytes(v)),
        ]);
    }

    /// <summary>The factors without multiplying (for two-GEMM inference).</summary>
    public static LowRankTensor Open(EncodedTensor t)
    {
        CodecParams.ExpectCodec(t, CodecName);
        CodecParams.ExpectKeys(t, "rank", "dtype");
        CodecParams.ExpectParts(t, "u", "v");
        if (t.Shape.Count < 2) throw new DszFormatException($"codec '{CodecName}': tensor rank {t.Shape.Count} is below 2");
        int rank = CodecParams.GetInt(t, "rank", 0, int.MaxValue);
        bool half = CodecParams.GetChoice(t, "dtype", "f32", "f16") == "f16";
        int es = half ? 2 : 4;
        long m = t.Shape[0], n = MatrixCols(t.ShapeArray());
        var ub = CodecParams.Part(t, "u", (Int128)m * rank * es).Span;
        var vb = CodecParams.Part(t, "v", (Int128)rank * n * es).Span;
        var u = half ? RawIO.HalfBytesToFloats(ub) : RawIO.BytesToFloats(ub);
        var v = half ? RawIO.HalfBytesToFloats(vb) : RawIO.BytesToFloats(vb);
        return new LowRankTensor(t.ShapeArray(), (int)m, (int)n, rank, half, u, v);
    }

    /// <inheritdoc />
    public float[] Decode(EncodedTensor t)
    {
        var x = Open(t);
        var w = new float[t.ElementCount];
        Product(x.U, x.V, x.M, x.Rank, x.N, w);
        return w;
    }

    /// <inheritdoc />
    public DszTensorStats ComputeStats(EncodedTensor t)
    {
        var x = Open(t);
        int width = x.IsHalf ? 16 : 32;
        long stored = ((long)x.M + x.N) * x.Rank;
        return new DszTensorStats(Name, t.ElementCount, t.ElementCount, stored, 0, width, width * stored, width * stored, 0, 0, 0, 0, t.PayloadBytes);
    }

    /// <summary>
    /// The defining product <c>W = U V</c>: per element, float32 accumulation from +0.0 over k in
    /// increasing order with separately rounded multiply and add. Vectorised across columns, which
    /// keeps every element's operation order.
    /// </summary>
    /// <param name="u">[m, r] row-major.</param>
    /// <param name="v">[r, n] row-major.</param>
    /// <param name="m">Rows of the product.</param>
    /// <param name="r">Inner dimension.</param>
    /// <param name="n">Columns of the product.</param>
    /// <param name="destination">[m, n] row-major, overwritten.</param>
    public static void Product(ReadOnlySpan<float> u, ReadOnlySpan<float> v, int m, int r, int n, Span<float> destination)
    {
        if (u.Length != (long)m * r || v.Length != (long)r * n || destination.Length != (long)m * n)
            throw new ArgumentException("factor or destination sizes do not match m, r, n");
        destination.Clear();
        int vw = Vector<float>.Count;
        for (int i = 0; i < m; i++)
        {
            Span<float> row = destination.Slice(i * n, n);
            for (int k = 0; k < r; k++)
            {
                float a = u[i * r + k];
                ReadOnlySpan<float> vk = v.Slice(k * n, n);
                var va = new Vector<float>(a);
                int j = 0;
                for (; j + vw <= n; j += vw)
                {
                    var acc = new Vector<float>(row.Slice(j));
                    (acc + va * new Vector<float>(vk.Slice(j))).CopyTo(row.Slice(j));
                }
                for (; j < n; j++) row[j] += a * vk[j];
            }
        }
    }

    private static long MatrixCols(ReadOnlySpan<int> shape)
    {
        long n = 1;
        for (int d = 1; d < shape.Length; d++) n *= shape[d];
        return n;
    }
}
