using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>Masks for the partial vectors of AVX-512 kernels.</summary>
internal static class LaneMask
{
    /// <summary>A float mask with the lanes below <paramref name="n"/> (0 to 16) set, for masked loads and stores.</summary>
    public static Vector512<float> Below(int n) =>
        Vector512.LessThan(Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create(n)).AsSingle();
}
