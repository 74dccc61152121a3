using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Runtime.Kernels;

/// <summary>
/// The few vector operations the tiled kernels need, implemented once per width so one generic
/// kernel body serves 512-, 256- and 128-bit hardware (the JIT specialises each struct instance).
/// </summary>
internal unsafe interface IVectorOps<TV> where TV : struct
{
    static abstract int Count { get; }
    static abstract TV Zero { get; }
    static abstract TV Broadcast(float v);
    static abstract TV Load(float* p);
    static abstract void Store(TV v, float* p);
    /// <summary>a * b + c (fused where the hardware has FMA).</summary>
    static abstract TV MultiplyAdd(TV a, TV b, TV c);
}

internal readonly unsafe struct Ops512 : IVectorOps<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float v) => Vector512.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.MultiplyAddEstimate(a, b, c);
}

internal readonly unsafe struct Ops256 : IVectorOps<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float v) => Vector256.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.MultiplyAddEstimate(a, b, c);
}

internal readonly unsafe struct Ops128 : IVectorOps<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Broadcast(float v) => Vector128.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);
}

/// <summary>Instruction paths of the sparse kernels; tests run each one on the same machine.</summary>
internal enum SimdPath
{
    /// <summary>The best path the hardware and runtime allow.</summary>
    Auto,
    /// <summary>AVX-512 register-permute SpMV and 512-bit tiles.</summary>
    Avx512,
    /// <summary>256-bit tiles.</summary>
    Vector256,
    /// <summary>128-bit tiles.</summary>
    Vector128,
    /// <summary>Plain scalar loops.</summary>
    Scalar,
}
