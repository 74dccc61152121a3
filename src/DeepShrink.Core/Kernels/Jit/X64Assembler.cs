namespace DeepShrink.Core.Kernels.Jit;

/// <summary>x86-64 general-purpose registers, numbered as in the instruction encoding.</summary>
internal enum Gpr
{
    Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8, R9, R10, R11, R12, R13, R14, R15,
}

/// <summary>A memory operand <c>[base + disp32]</c> (no index register: the kernels only walk pointers).</summary>
internal readonly record struct Mem(Gpr Base, int Disp = 0);

/// <summary>A jump target; bound once with <see cref="X64Assembler.Bind"/>.</summary>
internal sealed class Label
{
    internal int Position = -1;
}

/// <summary>
/// A minimal x86-64 machine-code emitter for the runtime-generated micro-kernels (<see cref="JitKernels"/>):
/// the handful of general-purpose instructions a loop needs and EVEX-encoded 512-bit vector instructions.
/// </summary>
/// <remarks>
/// <para>Why: .NET 10 exposes no intrinsic for 512-bit <c>vpdpbusd</c> (AVX-512 VNNI) or <c>vpopcntq</c>
/// (AVX-512 VPOPCNTDQ), yet they double the int8 rate and make XNOR-popcount several times cheaper. Like
/// oneDNN's Xbyak kernels, DeepShrink writes those few inner loops as machine code at start-up.</para>
/// <para>Encoding (Intel SDM vol. 2, 2.7): EVEX = 62, P0 = [R X B R' 0 0 m m], P1 = [W vvvv 1 p p],
/// P2 = [z L'L b V' a a a]; R, X, B, R', vvvv and V' are stored inverted. Memory operands always use a
/// 32-bit displacement (mod = 10), which sidesteps EVEX's compressed disp8*N scaling; a base of rsp/r12
/// gets the SIB byte it requires. Every vector instruction here is 512 bits wide, unmasked.</para>
/// </remarks>
internal sealed class X64Assembler
{
    private readonly List<byte> _code = new();
    private readonly List<(int At, Label Target)> _fixups = new();

    /// <summary>Bytes emitted so far.</summary>
    public int Length => _code.Count;

    /// <summary>The finished code; throws if a jump targets an unbound label.</summary>
    public byte[] ToArray()
    {
        var bytes = _code.ToArray();
        foreach (var (at, target) in _fixups)
        {
            if (target.Position < 0) throw new InvalidOperationException("jump to an unbound label");
            BitConverter.TryWriteBytes(bytes.AsSpan(at, 4), target.Position - (at + 4));
        }
        return bytes;
    }

    /// <summary>Binds <paramref name="label"/> to the current position.</summary>
    public void Bind(Label label)
    {
        if (label.Position >= 0) throw new InvalidOperationException("label bound twice");
        label.Position = _code.Count;
    }

    // ---- general-purpose instructions (64-bit operand size) ----

    /// <summary><c>mov dst, [m]</c></summary>
    public void Load(Gpr dst, Mem m) { Rex(true, (int)dst, (int)m.Base); _code.Add(0x8B); ModRmMem((int)dst, m); }

    /// <summary><c>mov dst, src</c></summary>
    public void Mov(Gpr dst, Gpr src) { Rex(true, (int)src, (int)dst); _code.Add(0x89); ModRmReg((int)src, (int)dst); }

    /// <summary><c>add dst, imm32</c></summary>
    public void Add(Gpr dst, int imm) { Rex(true, 0, (int)dst); _code.Add(0x81); ModRmReg(0, (int)dst); Imm32(imm); }

    /// <summary><c>add dst, src</c></summary>
    public void Add(Gpr dst, Gpr src) { Rex(true, (int)src, (int)dst); _code.Add(0x01); ModRmReg((int)src, (int)dst); }

    /// <summary><c>dec r</c></summary>
    public void Dec(Gpr r) { Rex(true, 0, (int)r); _code.Add(0xFF); ModRmReg(1, (int)r); }

    /// <summary><c>test a, b</c></summary>
    public void Test(Gpr a, Gpr b) { Rex(true, (int)b, (int)a); _code.Add(0x85); ModRmReg((int)b, (int)a); }

    /// <summary><c>push r</c></summary>
    public void Push(Gpr r) { if ((int)r >= 8) _code.Add(0x41); _code.Add((byte)(0x50 + ((int)r & 7))); }

    /// <summary><c>pop r</c></summary>
    public void Pop(Gpr r) { if ((int)r >= 8) _code.Add(0x41); _code.Add((byte)(0x58 + ((int)r & 7))); }

    /// <summary><c>jnz label</c> (rel32)</summary>
    public void Jnz(Label target) { _code.Add(0x0F); _code.Add(0x85); Rel32(target); }

    /// <summary><c>jz label</c> (rel32)</summary>
    public void Jz(Label target) { _code.Add(0x0F); _code.Add(0x84); Rel32(target); }

    /// <summary><c>ret</c></summary>
    public void Ret() => _code.Add(0xC3);

    /// <summary><c>vzeroupper</c>: leaves no dirty upper vector state behind for the caller's SSE code.</summary>
    public void Vzeroupper() { _code.Add(0xC5); _code.Add(0xF8); _code.Add(0x77); }

    // ---- 512-bit EVEX instructions; register numbers are zmm0..zmm31 ----

    private const int Map0F = 1, Map0F38 = 2;
    private const int Pp66 = 1, PpF3 = 2;

    /// <summary><c>vmovdqu32 dst, [m]</c> (64-byte load, no alignment needed)</summary>
    public void Vmovdqu32(int dst, Mem m) => EvexMem(Map0F, PpF3, false, 0x6F, dst, 0, m);

    /// <summary><c>vmovdqu32 [m], src</c></summary>
    public void Vmovdqu32(Mem m, int src) => EvexMem(Map0F, PpF3, false, 0x7F, src, 0, m);

    /// <summary><c>vpbroadcastd dst, dword [m]</c></summary>
    public void Vpbroadcastd(int dst, Mem m) => EvexMem(Map0F38, Pp66, false, 0x58, dst, 0, m);

    /// <summary><c>vpbroadcastq dst, qword [m]</c></summary>
    public void Vpbroadcastq(int dst, Mem m) => EvexMem(Map0F38, Pp66, true, 0x59, dst, 0, m);

    /// <summary><c>vpdpbusd acc, u8, s8</c>: acc.i32 += sum of 4 (u8 x s8) products per lane (AVX-512 VNNI)</summary>
    public void Vpdpbusd(int acc, int u8, int s8) => EvexReg(Map0F38, Pp66, false, 0x50, acc, u8, s8);

    /// <summary><c>vpaddd dst, a, [m]</c></summary>
    public void Vpaddd(int dst, int a, Mem m) => EvexMem(Map0F, Pp66, false, 0xFE, dst, a, m);

    /// <summary><c>vpxord dst, a, b</c></summary>
    public void Vpxord(int dst, int a, int b) => EvexReg(Map0F, Pp66, false, 0xEF, dst, a, b);

    /// <summary><c>vpxorq dst, a, b</c></summary>
    public void Vpxorq(int dst, int a, int b) => EvexReg(Map0F, Pp66, true, 0xEF, dst, a, b);

    /// <summary><c>vpandq dst, a, b</c></summary>
    public void Vpandq(int dst, int a, int b) => EvexReg(Map0F, Pp66, true, 0xDB, dst, a, b);

    /// <summary><c>vpaddq dst, a, b</c></summary>
    public void Vpaddq(int dst, int a, int b) => EvexReg(Map0F, Pp66, true, 0xD4, dst, a, b);

    /// <summary><c>vpsubq dst, a, b</c> (dst = a - b)</summary>
    public void Vpsubq(int dst, int a, int b) => EvexReg(Map0F, Pp66, true, 0xFB, dst, a, b);

    /// <summary><c>vpsllq dst, src, imm8</c></summary>
    public void Vpsllq(int dst, int src, byte imm)
    {
        EvexReg(Map0F, Pp66, true, 0x73, 6, dst, src); // /6: the reg field is an opcode extension, vvvv the destination
        _code.Add(imm);
    }

    /// <summary><c>vpopcntq dst, src</c>: per-qword population count (AVX-512 VPOPCNTDQ)</summary>
    public void Vpopcntq(int dst, int src) => EvexReg(Map0F38, Pp66, true, 0x55, dst, 0, src);

    /// <summary><c>vpmovqd ymmword [m], src</c>: truncates 8 qwords to 8 dwords and stores them</summary>
    public void Vpmovqd(Mem m, int src) => EvexMem(Map0F38, PpF3, false, 0x35, src, 0, m);

    private void EvexReg(int map, int pp, bool w, byte opcode, int reg, int vvvv, int rm)
    {
        CheckZmm(reg); CheckZmm(vvvv); CheckZmm(rm);
        Evex(map, pp, w, reg, vvvv, rmHigh: rm >> 3 & 1, xHigh: rm >> 4 & 1);
        _code.Add(opcode);
        ModRmReg(reg, rm);
    }

    private void EvexMem(int map, int pp, bool w, byte opcode, int reg, int vvvv, Mem m)
    {
        CheckZmm(reg); CheckZmm(vvvv);
        Evex(map, pp, w, reg, vvvv, rmHigh: (int)m.Base >> 3 & 1, xHigh: 0);
        _code.Add(opcode);
        ModRmMem(reg, m);
    }

    private void Evex(int map, int pp, bool w, int reg, int vvvv, int rmHigh, int xHigh)
    {
        _code.Add(0x62);
        int r = reg >> 3 & 1, rPrime = reg >> 4 & 1;
        _code.Add((byte)(((r ^ 1) << 7) | ((xHigh ^ 1) << 6) | ((rmHigh ^ 1) << 5) | ((rPrime ^ 1) << 4) | map));
        _code.Add((byte)(((w ? 1 : 0) << 7) | ((~vvvv & 0xF) << 3) | 0x04 | pp));
        _code.Add((byte)((0b10 << 5) | (((vvvv >> 4 & 1) ^ 1) << 3))); // z = 0, L'L = 512 bits, b = 0, no mask
    }

    private static void CheckZmm(int r)
    {
        if ((uint)r > 31) throw new ArgumentOutOfRangeException(nameof(r), r, "zmm register number must be 0..31");
    }

    private void Rex(bool w, int reg, int rm)
    {
        _code.Add((byte)(0x40 | (w ? 8 : 0) | ((reg >> 3 & 1) << 2) | (rm >> 3 & 1)));
    }

    private void ModRmReg(int reg, int rm) => _code.Add((byte)(0xC0 | ((reg & 7) << 3) | (rm & 7)));

    private void ModRmMem(int reg, Mem m)
    {
        int b = (int)m.Base & 7;
        _code.Add((byte)(0x80 | ((reg & 7) << 3) | b)); // mod = 10: [base + disp32]
        if (b == 4) _code.Add(0x24);                      // rsp/r12 as base need a SIB byte (no index)
        Imm32(m.Disp);
    }

    private void Imm32(int v)
    {
        _code.Add((byte)v); _code.Add((byte)(v >> 8)); _code.Add((byte)(v >> 16)); _code.Add((byte)(v >> 24));
    }

    private void Rel32(Label target)
    {
        _fixups.Add((_code.Count, target));
        Imm32(0);
    }
}
