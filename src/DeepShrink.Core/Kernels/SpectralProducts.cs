using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Element-wise complex multiply-accumulate on split spectra (real parts, then imaginary parts, as
/// written by <see cref="FftPlan"/>): acc += a b or acc += a conj(b), on Vector512 / Vector256 with a
/// scalar tail. The block-circulant kernels sum their frequency-domain products with it.
/// </summary>
internal static class SpectralProducts
{
    /// <summary>acc[k] += a[k] * (conjugateB ? conj(b[k]) : b[k]) for k &lt; bins.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> b, // [2, bins] each
        Span<float> acc, int bins, bool conjugateB)                             // [2, bins]
    {
        if (a.Length < 2 * bins || b.Length < 2 * bins || acc.Length < 2 * bins) throw new ArgumentException("spectrum buffers too short");
        ref float ar = ref MemoryMarshal.GetReference(a); ref float ai = ref Unsafe.Add(ref ar, bins);
        ref float br = ref MemoryMarshal.GetReference(b); ref float bi = ref Unsafe.Add(ref br, bins);
        ref float cr = ref MemoryMarshal.GetReference(acc); ref float ci = ref Unsafe.Add(ref cr, bins);
        // (ar + i ai)(br + i s bi) = (ar br - s ai bi) + i (s ar bi + ai br), s = -1 for conj(b).
        float s = conjugateB ? -1f : 1f;
        int k = 0;
        var level = CpuFeatures.Level;
        if (level == SimdLevel.Vector512)
        {
            var vs = Vector512.Create(s);
            for (; k + Vector512<float>.Count <= bins; k += Vector512<float>.Count)
            {
                nuint o = (nuint)k;
                var xr = Vector512.LoadUnsafe(ref ar, o); var xi = Vector512.LoadUnsafe(ref ai, o);
                var yr = Vector512.LoadUnsafe(ref br, o); var yi = Vector512.LoadUnsafe(ref bi, o) * vs;
                var zr = Vector512.LoadUnsafe(ref cr, o); var zi = Vector512.LoadUnsafe(ref ci, o);
                Vector512.FusedMultiplyAdd(xr, yr, Vector512.FusedMultiplyAdd(-xi, yi, zr)).StoreUnsafe(ref cr, o);
                Vector512.FusedMultiplyAdd(xr, yi, Vector512.FusedMultiplyAdd(xi, yr, zi)).StoreUnsafe(ref ci, o);
            }
        }
        if (level != SimdLevel.Scalar)
        {
            var vs = Vector256.Create(s);
            for (; k + Vector256<float>.Count <= bins; k += Vector256<float>.Count)
            {
                nuint o = (nuint)k;
                var xr = Vector256.LoadUnsafe(ref ar, o); var xi = Vector256.LoadUnsafe(ref ai, o);
                var yr = Vector256.LoadUnsafe(ref br, o); var yi = Vector256.LoadUnsafe(ref bi, o) * vs;
                var zr = Vector256.LoadUnsafe(ref cr, o); var zi = Vector256.LoadUnsafe(ref ci, o);
                Vector256.FusedMultiplyAdd(xr, yr, Vector256.FusedMultiplyAdd(-xi, yi, zr)).StoreUnsafe(ref cr, o);
                Vector256.FusedMultiplyAdd(xr, yi, Vector256.FusedMultiplyAdd(xi, yr, zi)).StoreUnsafe(ref ci, o);
            }
        }
        for (; k < bins; k++)
        {
            float xr = Unsafe.Add(ref ar, k), xi = Unsafe.Add(ref ai, k);
            float yr = Unsafe.Add(ref br, k), yi = s * Unsafe.Add(ref bi, k);
            Unsafe.Add(ref cr, k) += xr * yr - xi * yi;
            Unsafe.Add(ref ci, k) += xr * yi + xi * yr;
        }
    }
}
