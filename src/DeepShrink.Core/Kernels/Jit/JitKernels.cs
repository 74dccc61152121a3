using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels.Jit;

/// <summary>Arguments of the int8 8x32 tile (offsets are baked into the generated code).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Int8TileArgs
{
    public byte* A;         // +0: packed A micro-panel, [group][8 rows][4 bytes]
    public sbyte* B0;       // +8: packed W panel (16 columns), [group][16][4]
    public sbyte* B1;       // +16: the next panel (columns 16..31)
    public long Groups;     // +24: 4-byte k groups, >= 1
    public int* C;          // +32: C[0, 0] of the tile
    public long LdcBytes;   // +40: C row stride in bytes
    public long Accumulate; // +48: nonzero: C += tile, else C = tile
}

/// <summary>Arguments of the XNOR 4-row x 4-panel tile (offsets are baked into the generated code).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct XnorTileArgs
{
    public ulong* A0, A1, A2, A3; // +0..+24: the four packed A rows
    public ulong* B0, B1, B2, B3; // +32..+56: four panels of 8 columns, [word][8]
    public long FullWords;        // +64: words counted unmasked
    public long HasTail;          // +72: nonzero: one more word, A masked with TailMask
    public ulong TailMask;        // +80
    public long K;                // +88: reduction length in bits
    public int* C;                // +96: C[0, 0] of the tile (32 columns)
    public long LdcBytes;         // +104
}

/// <summary>
/// Micro-kernels generated as x86-64 machine code at start-up (<see cref="X64Assembler"/>), for the two
/// instructions .NET 10 has no intrinsic for: 512-bit <c>vpdpbusd</c> (int8 GEMM) and <c>vpopcntq</c>
/// (XNOR GEMM). Built only on Linux x86-64 when CPUID reports the feature and the runtime allows AVX-512
/// (<c>DOTNET_EnableAVX512=0</c> turns them off, as does <c>DEEPSHRINK_JIT=0</c>); otherwise the managed
/// kernels run. A kernel is built once, on first use, and never changes afterwards.
/// </summary>
internal static unsafe class JitKernels
{
    /// <summary>False when <c>DEEPSHRINK_JIT=0</c> is set.</summary>
    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("DEEPSHRINK_JIT") != "0";

    private static readonly Lazy<nint> s_int8 = new(() => Build(Avx512Vnni, a => EmitInt8Tile8x32(a, signedBroadcast: false)));
    private static readonly Lazy<nint> s_int8T = new(() => Build(Avx512Vnni, a => EmitInt8Tile8x32(a, signedBroadcast: true)));
    private static readonly Lazy<nint> s_xnor = new(() => Build(Avx512Vpopcntdq, EmitXnorTile4x4));

    /// <summary>Whether the int8 8x32 tile (512-bit vpdpbusd) is available.</summary>
    public static bool HasInt8Tile => s_int8.Value != 0;

    /// <summary>Whether the int8 8x32 tile with signed A rows and unsigned B panels is available (<see cref="Int8ConvGemm"/>).</summary>
    public static bool HasInt8TileSignedA => s_int8T.Value != 0;

    /// <summary>Whether the XNOR 4x32 tile (vpopcntq) is available.</summary>
    public static bool HasXnorTile => s_xnor.Value != 0;

    /// <summary>C[8, 32] (=|+=) A[8 rows] . B[2 panels] over <see cref="Int8TileArgs.Groups"/> 4-byte groups.</summary>
    public static void Int8Tile8x32(Int8TileArgs* args) =>
        ((delegate* unmanaged[SuppressGCTransition]<Int8TileArgs*, void>)s_int8.Value)(args);

    /// <summary>As <see cref="Int8Tile8x32"/> with the signedness swapped: A rows are s8, B panels u8.</summary>
    public static void Int8Tile8x32SignedA(Int8TileArgs* args) =>
        ((delegate* unmanaged[SuppressGCTransition]<Int8TileArgs*, void>)s_int8T.Value)(args);

    /// <summary>C[4, 32] = k - 2 popcount(A XOR B) for four rows and four 8-column panels.</summary>
    public static void XnorTile4x4(XnorTileArgs* args) =>
        ((delegate* unmanaged[SuppressGCTransition]<XnorTileArgs*, void>)s_xnor.Value)(args);

    // CPUID leaf 7, sub-leaf 0, ECX bits (Intel SDM vol. 2, CPUID).
    private const int Avx512Vnni = 11, Avx512Vpopcntdq = 14;

    private static nint Build(int cpuidEcxBit, Action<X64Assembler> emit)
    {
        if (!Enabled || !ExecutableMemory.IsSupported || !Avx512F.IsSupported || !X86Base.IsSupported) return 0;
        if ((X86Base.CpuId(7, 0).Ecx >> cpuidEcxBit & 1) == 0) return 0;
        var asm = new X64Assembler();
        emit(asm);
        try { return ExecutableMemory.Map(asm.ToArray()); }
        catch (InvalidOperationException) { return 0; } // e.g. a W^X policy: the managed kernels run instead
    }

    /// <summary>
    /// 8 rows x 32 columns: zmm0-15 accumulate (row r: zmm 2r = columns 0-15, zmm 2r+1 = 16-31), zmm16/17 hold the
    /// two panels' 64-byte group, zmm18-25 the eight broadcast 4-byte A groups; 16 vpdpbusd per k group.
    /// vpdpbusd multiplies unsigned bytes (its first source) by signed ones (its second): A is the unsigned
    /// operand unless <paramref name="signedBroadcast"/>, which swaps the two (s8 weights x u8 activations).
    /// </summary>
    private static void EmitInt8Tile8x32(X64Assembler a, bool signedBroadcast)
    {
        const Gpr args = Gpr.Rdi, pa = Gpr.Rsi, pb0 = Gpr.Rdx, pb1 = Gpr.Rax, n = Gpr.Rcx, pc = Gpr.R8, ldc = Gpr.R9, acc = Gpr.R10;
        a.Load(pa, new Mem(args, 0));
        a.Load(pb0, new Mem(args, 8));
        a.Load(pb1, new Mem(args, 16));
        a.Load(n, new Mem(args, 24));
        for (int z = 0; z < 16; z++) a.Vpxord(z, z, z);
        var loop = new Label();
        a.Bind(loop);
        a.Vmovdqu32(16, new Mem(pb0));
        a.Vmovdqu32(17, new Mem(pb1));
        for (int r = 0; r < 8; r++)
        {
            a.Vpbroadcastd(18 + r, new Mem(pa, 4 * r));
            if (signedBroadcast)
            {
                a.Vpdpbusd(2 * r, 16, 18 + r);
                a.Vpdpbusd(2 * r + 1, 17, 18 + r);
            }
            else
            {
                a.Vpdpbusd(2 * r, 18 + r, 16);
                a.Vpdpbusd(2 * r + 1, 18 + r, 17);
            }
        }
        a.Add(pa, 32);
        a.Add(pb0, 64);
        a.Add(pb1, 64);
        a.Dec(n);
        a.Jnz(loop);

        a.Load(pc, new Mem(args, 32));
        a.Load(ldc, new Mem(args, 40));
        a.Load(acc, new Mem(args, 48));
        var store = new Label();
        a.Test(acc, acc);
        a.Jz(store);
        for (int r = 0; r < 8; r++)
        {
            a.Vpaddd(2 * r, 2 * r, new Mem(pc));
            a.Vpaddd(2 * r + 1, 2 * r + 1, new Mem(pc, 64));
            a.Add(pc, ldc);
        }
        a.Load(pc, new Mem(args, 32));
        a.Bind(store);
        for (int r = 0; r < 8; r++)
        {
            a.Vmovdqu32(new Mem(pc), 2 * r);
            a.Vmovdqu32(new Mem(pc, 64), 2 * r + 1);
            a.Add(pc, ldc);
        }
        a.Vzeroupper();
        a.Ret();
    }

    /// <summary>
    /// 4 rows x 4 panels (32 columns): zmm0-15 hold per-column popcount sums (row r, panel p: zmm 4r+p, 8 qword lanes),
    /// zmm16-19 the panels' words, zmm20-23 the broadcast A words, zmm24-29 rotating temporaries, zmm30 = k,
    /// zmm31 = the tail mask. Per word: 16 x (vpxorq, vpopcntq, vpaddq).
    /// </summary>
    private static void EmitXnorTile4x4(X64Assembler a)
    {
        const Gpr args = Gpr.Rbx, n = Gpr.Rcx;
        Gpr[] rows = [Gpr.Rax, Gpr.R10, Gpr.R11, Gpr.Rsi];
        Gpr[] panels = [Gpr.Rdx, Gpr.R8, Gpr.R9, Gpr.Rdi];
        a.Push(Gpr.Rbx);
        a.Mov(args, Gpr.Rdi); // rdi becomes a panel pointer below
        for (int r = 0; r < 4; r++) a.Load(rows[r], new Mem(args, 8 * r));
        for (int p = 0; p < 4; p++) a.Load(panels[p], new Mem(args, 32 + 8 * p));
        a.Load(n, new Mem(args, 64));
        for (int z = 0; z < 16; z++) a.Vpxorq(z, z, z);
        var afterLoop = new Label();
        a.Test(n, n);
        a.Jz(afterLoop);
        var loop = new Label();
        a.Bind(loop);
        EmitXnorWord(a, rows, panels, masked: false);
        foreach (var r in rows) a.Add(r, 8);
        foreach (var p in panels) a.Add(p, 64);
        a.Dec(n);
        a.Jnz(loop);
        a.Bind(afterLoop);

        var finish = new Label();
        a.Load(n, new Mem(args, 72));
        a.Test(n, n);
        a.Jz(finish);
        a.Vpbroadcastq(31, new Mem(args, 80));
        EmitXnorWord(a, rows, panels, masked: true);
        a.Bind(finish);

        const Gpr pc = Gpr.Rax, ldc = Gpr.Rcx;
        a.Vpbroadcastq(30, new Mem(args, 88));
        a.Load(pc, new Mem(args, 96));
        a.Load(ldc, new Mem(args, 104));
        for (int r = 0; r < 4; r++)
        {
            for (int p = 0; p < 4; p++)
            {
                int t = 24 + (4 * r + p) % 6;
                a.Vpsllq(t, 4 * r + p, 1);
                a.Vpsubq(t, 30, t);
                a.Vpmovqd(new Mem(pc, 32 * p), t);
            }
            a.Add(pc, ldc);
        }
        a.Vzeroupper();
        a.Pop(Gpr.Rbx);
        a.Ret();
    }

    private static void EmitXnorWord(X64Assembler a, Gpr[] rows, Gpr[] panels, bool masked)
    {
        for (int p = 0; p < 4; p++) a.Vmovdqu32(16 + p, new Mem(panels[p]));
        for (int r = 0; r < 4; r++)
        {
            a.Vpbroadcastq(20 + r, new Mem(rows[r]));
            if (masked) a.Vpandq(20 + r, 20 + r, 31);
        }
        for (int r = 0; r < 4; r++)
            for (int p = 0; p < 4; p++)
            {
                int acc = 4 * r + p, t = 24 + acc % 6;
                a.Vpxorq(t, 20 + r, 16 + p);
                a.Vpopcntq(t, t);
                a.Vpaddq(acc, acc, t);
            }
    }
}
