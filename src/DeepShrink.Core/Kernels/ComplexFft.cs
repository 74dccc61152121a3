using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// In-place complex FFT of one power-of-two size on split arrays (real parts and imaginary parts
/// apart), the engine of <see cref="FftPlan"/>. Immutable after construction.
/// </summary>
/// <remarks>
/// Iterative radix-2 decimation in time (Cooley and Tukey 1965): the input is loaded in bit-reversed
/// order, then stage s (half-width m = 2^s) combines pairs u, v of each group of 2m as
/// u + w_j v and u - w_j v with w_j = e^{-2 pi i j / (2m)}. The first two stages (w in {1, -i}) run as
/// one radix-4 pass without multiplications; later stages read their twiddles contiguously from
/// [m, 2m) of one table and run 16 (Vector512) or 8 (Vector256) butterflies per instruction once m
/// allows it. The inverse transform is the forward one with the real and imaginary arrays swapped
/// (conj(F conj z) = swap(F swap z)), unscaled.
/// </remarks>
internal sealed class ComplexFft
{
    private readonly int[] _rev;               // [h]: bit-reversed index
    private readonly float[] _twRe, _twIm;     // [h]: stage m's twiddles at [m, 2m)

    public ComplexFft(int size)
    {
        Size = size;
        _rev = new int[size];
        int bits = System.Numerics.BitOperations.Log2((uint)size);
        for (int i = 0; i < size; i++)
        {
            int r = 0;
            for (int b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
            _rev[i] = r;
        }
        _twRe = new float[Math.Max(1, size)]; _twIm = new float[Math.Max(1, size)];
        for (int m = 1; m < size; m *= 2)
            for (int j = 0; j < m; j++)
            {
                double a = -Math.PI * j / m;
                _twRe[m + j] = (float)Math.Cos(a); _twIm[m + j] = (float)Math.Sin(a);
            }
    }

    /// <summary>Number of complex points.</summary>
    public int Size { get; }

    /// <summary>The bit-reversal permutation (an involution).</summary>
    public ReadOnlySpan<int> BitReverse => _rev;

    /// <summary>re[rev[t]] = x[2t], im[rev[t]] = x[2t + 1]: packs real pairs as complex values in bit-reversed order.</summary>
    public void LoadPairsBitReversed(ReadOnlySpan<float> x, // [2 h]
        Span<float> re, Span<float> im)                      // [h] each
    {
        var rev = _rev;
        for (int t = 0; t < rev.Length; t++)
        {
            int r = rev[t];
            re[r] = x[2 * t];
            im[r] = x[2 * t + 1];
        }
    }

    /// <summary>Forward transform in place of data already in bit-reversed order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Transform(Span<float> re, Span<float> im) // [h] each
    {
        int h = Size;
        if (re.Length < h || im.Length < h) throw new ArgumentException("complex FFT buffers too short");
        if (h < 2) return;
        if (h == 2)
        {
            float ar = re[0], ai = im[0];
            re[0] = ar + re[1]; im[0] = ai + im[1];
            re[1] = ar - re[1]; im[1] = ai - im[1];
            return;
        }
        Radix4FirstPass(re, im, h);
        var level = CpuFeatures.Level;
        for (int m = 4; m < h; m *= 2)
        {
            if (level == SimdLevel.Vector512 && m >= Vector512<float>.Count) Stage512(re, im, m, h);
            else if (level != SimdLevel.Scalar && m >= Vector256<float>.Count) Stage256(re, im, m, h);
            else StageScalar(re, im, m, h);
        }
    }

    /// <summary>Stages m = 1 and m = 2 (twiddles 1 and -i) fused: one pass over groups of four.</summary>
    private static void Radix4FirstPass(Span<float> re, Span<float> im, int h)
    {
        for (int s = 0; s < h; s += 4)
        {
            float x0r = re[s], x0i = im[s], x1r = re[s + 1], x1i = im[s + 1];
            float x2r = re[s + 2], x2i = im[s + 2], x3r = re[s + 3], x3i = im[s + 3];
            // stage m = 1
            float a0r = x0r + x1r, a0i = x0i + x1i, a1r = x0r - x1r, a1i = x0i - x1i;
            float a2r = x2r + x3r, a2i = x2i + x3i, a3r = x2r - x3r, a3i = x2i - x3i;
            // stage m = 2: w0 = 1, w1 = -i (so w1 a3 = (a3i, -a3r))
            re[s] = a0r + a2r; im[s] = a0i + a2i;
            re[s + 2] = a0r - a2r; im[s + 2] = a0i - a2i;
            re[s + 1] = a1r + a3i; im[s + 1] = a1i - a3r;
            re[s + 3] = a1r - a3i; im[s + 3] = a1i + a3r;
        }
    }

    private void StageScalar(Span<float> re, Span<float> im, int m, int h)
    {
        var twr = _twRe.AsSpan(m, m); var twi = _twIm.AsSpan(m, m);
        for (int s = 0; s < h; s += 2 * m)
            for (int j = 0; j < m; j++)
            {
                int u = s + j, v = u + m;
                float wr = twr[j], wi = twi[j];
                float vr = re[v], vi = im[v];
                float tr = vr * wr - vi * wi, ti = vr * wi + vi * wr;
                float ur = re[u], ui = im[u];
                re[u] = ur + tr; im[u] = ui + ti;
                re[v] = ur - tr; im[v] = ui - ti;
            }
    }

    private void Stage256(Span<float> re, Span<float> im, int m, int h)
    {
        ref float r0 = ref MemoryMarshal.GetReference(re);
        ref float i0 = ref MemoryMarshal.GetReference(im);
        ref float wr0 = ref _twRe[m];
        ref float wi0 = ref _twIm[m];
        for (int s = 0; s < h; s += 2 * m)
            for (int j = 0; j < m; j += Vector256<float>.Count)
            {
                nuint u = (nuint)(s + j), v = u + (nuint)m;
                var wr = Vector256.LoadUnsafe(ref wr0, (nuint)j); var wi = Vector256.LoadUnsafe(ref wi0, (nuint)j);
                var vr = Vector256.LoadUnsafe(ref r0, v); var vi = Vector256.LoadUnsafe(ref i0, v);
                var tr = Vector256.FusedMultiplyAdd(vr, wr, -(vi * wi));
                var ti = Vector256.FusedMultiplyAdd(vr, wi, vi * wr);
                var ur = Vector256.LoadUnsafe(ref r0, u); var ui = Vector256.LoadUnsafe(ref i0, u);
                (ur + tr).StoreUnsafe(ref r0, u); (ui + ti).StoreUnsafe(ref i0, u);
                (ur - tr).StoreUnsafe(ref r0, v); (ui - ti).StoreUnsafe(ref i0, v);
            }
    }

    private void Stage512(Span<float> re, Span<float> im, int m, int h)
    {
        ref float r0 = ref MemoryMarshal.GetReference(re);
        ref float i0 = ref MemoryMarshal.GetReference(im);
        ref float wr0 = ref _twRe[m];
        ref float wi0 = ref _twIm[m];
        for (int s = 0; s < h; s += 2 * m)
            for (int j = 0; j < m; j += Vector512<float>.Count)
            {
                nuint u = (nuint)(s + j), v = u + (nuint)m;
                var wr = Vector512.LoadUnsafe(ref wr0, (nuint)j); var wi = Vector512.LoadUnsafe(ref wi0, (nuint)j);
                var vr = Vector512.LoadUnsafe(ref r0, v); var vi = Vector512.LoadUnsafe(ref i0, v);
                var tr = Vector512.FusedMultiplyAdd(vr, wr, -(vi * wi));
                var ti = Vector512.FusedMultiplyAdd(vr, wi, vi * wr);
                var ur = Vector512.LoadUnsafe(ref r0, u); var ui = Vector512.LoadUnsafe(ref i0, u);
                (ur + tr).StoreUnsafe(ref r0, u); (ui + ti).StoreUnsafe(ref i0, u);
                (ur - tr).StoreUnsafe(ref r0, v); (ui - ti).StoreUnsafe(ref i0, v);
            }
    }
}
