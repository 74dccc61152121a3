using System.Runtime.Intrinsics.X86;
using DeepShrink.Core.Kernels;
using DeepShrink.Core.Kernels.Jit;

namespace DeepShrink.Core.Tests;

public class JitKernelTests
{
    private static string Hex(Action<X64Assembler> emit)
    {
        var a = new X64Assembler();
        emit(a);
        return Convert.ToHexString(a.ToArray());
    }

    /// <summary>
    /// Encodings checked against GNU objdump 2.40 (<c>objdump -D -b binary -mi386:x86-64 -Mintel</c>), which
    /// disassembled each to the instruction in the comment: high zmm registers (R', V', X as rm bit 4),
    /// r8-r15 bases, the SIB byte rsp/r12 need, negative displacements and the /6 opcode extension.
    /// </summary>
    [Theory]
    [InlineData("vpdpbusd zmm31,zmm17,zmm9", "6242754050F9")]
    [InlineData("vpdpbusd zmm0,zmm18,zmm16", "62B26D4050C0")]
    [InlineData("vpopcntq zmm24,zmm27", "6202FD4855C3")]
    [InlineData("vpxorq zmm9,zmm30,zmm1", "62718D40EFC9")]
    [InlineData("vpsllq zmm25,zmm13,0x1", "62D1B54073F501")]
    [InlineData("vpmovqd [r12+0x60],zmm29", "62427E4835AC2460000000")]
    [InlineData("vpbroadcastd zmm18,[r13-0x4]", "62C27D485895FCFFFFFF")]
    [InlineData("vpbroadcastq zmm7,[rsp+0x8]", "62F2FD4859BC2408000000")]
    [InlineData("vmovdqu32 zmm16,[r9+0x40]", "62C17E486F8140000000")]
    [InlineData("vmovdqu32 [rax+0x80],zmm15", "62717E487FB880000000")]
    [InlineData("vpaddd zmm3,zmm3,[r8+0x40]", "62D16548FE9840000000")]
    [InlineData("vpandq zmm20,zmm20,zmm31", "6281DD40DBE7")]
    [InlineData("vpsubq zmm24,zmm30,zmm24", "62018D40FBC0")]
    [InlineData("mov r10,[rdi+0x30]", "4C8B9730000000")]
    [InlineData("mov rbx,rdi", "4889FB")]
    [InlineData("add r11,0x8", "4981C308000000")]
    [InlineData("add r8,r9", "4D01C8")]
    [InlineData("dec rcx", "48FFC9")]
    [InlineData("test r10,r10", "4D85D2")]
    [InlineData("push rbx", "53")]
    [InlineData("pop r12", "415C")]
    public void Encodes_like_the_reference_disassembler(string instruction, string expected)
    {
        Action<X64Assembler> emit = instruction switch
        {
            "vpdpbusd zmm31,zmm17,zmm9" => a => a.Vpdpbusd(31, 17, 9),
            "vpdpbusd zmm0,zmm18,zmm16" => a => a.Vpdpbusd(0, 18, 16),
            "vpopcntq zmm24,zmm27" => a => a.Vpopcntq(24, 27),
            "vpxorq zmm9,zmm30,zmm1" => a => a.Vpxorq(9, 30, 1),
            "vpsllq zmm25,zmm13,0x1" => a => a.Vpsllq(25, 13, 1),
            "vpmovqd [r12+0x60],zmm29" => a => a.Vpmovqd(new Mem(Gpr.R12, 0x60), 29),
            "vpbroadcastd zmm18,[r13-0x4]" => a => a.Vpbroadcastd(18, new Mem(Gpr.R13, -4)),
            "vpbroadcastq zmm7,[rsp+0x8]" => a => a.Vpbroadcastq(7, new Mem(Gpr.Rsp, 8)),
            "vmovdqu32 zmm16,[r9+0x40]" => a => a.Vmovdqu32(16, new Mem(Gpr.R9, 0x40)),
            "vmovdqu32 [rax+0x80],zmm15" => a => a.Vmovdqu32(new Mem(Gpr.Rax, 0x80), 15),
            "vpaddd zmm3,zmm3,[r8+0x40]" => a => a.Vpaddd(3, 3, new Mem(Gpr.R8, 0x40)),
            "vpandq zmm20,zmm20,zmm31" => a => a.Vpandq(20, 20, 31),
            "vpsubq zmm24,zmm30,zmm24" => a => a.Vpsubq(24, 30, 24),
            "mov r10,[rdi+0x30]" => a => a.Load(Gpr.R10, new Mem(Gpr.Rdi, 0x30)),
            "mov rbx,rdi" => a => a.Mov(Gpr.Rbx, Gpr.Rdi),
            "add r11,0x8" => a => a.Add(Gpr.R11, 8),
            "add r8,r9" => a => a.Add(Gpr.R8, Gpr.R9),
            "dec rcx" => a => a.Dec(Gpr.Rcx),
            "test r10,r10" => a => a.Test(Gpr.R10, Gpr.R10),
            "push rbx" => a => a.Push(Gpr.Rbx),
            "pop r12" => a => a.Pop(Gpr.R12),
            _ => throw new ArgumentException(instruction),
        };
        Assert.Equal(expected, Hex(emit));
    }

    [Fact]
    public void Jumps_are_relative_to_the_next_instruction()
    {
        var a = new X64Assembler();
        var back = new Label();
        var forward = new Label();
        a.Bind(back);
        a.Dec(Gpr.Rcx);     // 3 bytes
        a.Jnz(back);        // 6 bytes, ends at 9: rel = 0 - 9
        a.Jz(forward);      // 6 bytes, ends at 15
        a.Ret();            // forward binds at 16: rel = 1
        a.Bind(forward);
        a.Ret();
        Assert.Equal("48FFC9" + "0F85F7FFFFFF" + "0F8401000000" + "C3C3", Convert.ToHexString(a.ToArray()));
    }

    [Fact]
    public void Misuse_is_rejected()
    {
        var a = new X64Assembler();
        a.Jz(new Label());
        Assert.Throws<InvalidOperationException>(() => a.ToArray());
        var l = new Label();
        a.Bind(l);
        Assert.Throws<InvalidOperationException>(() => a.Bind(l));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Vpaddq(32, 0, 0));
    }

    /// <summary>Where the CPU has the features (and AVX-512 is not switched off), the generated kernels are the default paths.</summary>
    [Fact]
    public void Generated_kernels_are_the_default_where_the_cpu_has_them()
    {
        if (!ExecutableMemory.IsSupported || !Avx512F.IsSupported || !JitKernels.Enabled) return;
        var ecx = X86Base.CpuId(7, 0).Ecx;
        if ((ecx >> 11 & 1) == 1) Assert.Equal(Int8GemmPath.Avx512Vnni, Int8Gemm.Path);
        if ((ecx >> 14 & 1) == 1) Assert.Equal(XnorGemmPath.Avx512Vpopcnt, XnorGemm.Path);
    }
}
