using System.Runtime.InteropServices;

namespace DeepShrink.Bench;

/// <summary>
/// Optional OpenBLAS binding used only as a performance yardstick: loaded at run time with
/// <see cref="NativeLibrary.TryLoad(string, out IntPtr)"/> (Debian package <c>libopenblas0</c>);
/// absent library means no comparison, never an error.
/// </summary>
public sealed unsafe class OpenBlas
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    private static readonly string[] Candidates =
    [
        "libopenblas.so.0", "/usr/lib/x86_64-linux-gnu/libopenblas.so.0", "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
        "libopenblas.so", "libopenblas.dylib", "libopenblas.dll", "openblas",
    ];

    private readonly delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _sgemm;
    private readonly delegate* unmanaged[Cdecl]<int, void> _setThreads;

    private OpenBlas(string path, IntPtr sgemm, IntPtr setThreads)
    {
        LibraryPath = path;
        _sgemm = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
        _setThreads = (delegate* unmanaged[Cdecl]<int, void>)setThreads;
    }

    /// <summary>The library that was loaded.</summary>
    public string LibraryPath { get; }

    /// <summary>Loads OpenBLAS, or returns null when it (or one of its entry points) is not found.</summary>
    public static OpenBlas? TryLoad()
    {
        foreach (var name in Candidates)
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            if (NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var sgemm)
                && NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var setThreads))
                return new OpenBlas(name, sgemm, setThreads);
            NativeLibrary.Free(handle);
        }
        return null;
    }

    /// <summary>Sets the number of threads OpenBLAS uses for later calls.</summary>
    public void SetThreads(int threads) => _setThreads(threads);

    /// <summary>Row-major <c>cblas_sgemm</c> with the same contract as <see cref="Core.Kernels.Gemm.Sgemm"/>.</summary>
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda,     // [m, k] (or [k, m] when transA)
        ReadOnlySpan<float> b, int ldb,     // [k, n] (or [n, k] when transB)
        float beta, Span<float> c, int ldc) // [m, n]
    {
        Core.Kernels.Gemm.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        fixed (float* pa = a, pb = b, pc = c)
            _sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }
}
