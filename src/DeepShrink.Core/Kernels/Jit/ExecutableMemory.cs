using System.Runtime.InteropServices;

namespace DeepShrink.Core.Kernels.Jit;

/// <summary>
/// Maps machine code into memory that can be executed (Linux x86-64 only): the pages are written while
/// read-write and then flipped to read-execute, so no page is ever writable and executable at once.
/// Kernels live for the whole process; their pages are never unmapped.
/// </summary>
internal static unsafe partial class ExecutableMemory
{
    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;
    private const int MapPrivate = 0x02, MapAnonymous = 0x20;

    /// <summary>Whether this process can map code at all (64-bit Linux on x86-64).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary>Copies <paramref name="code"/> into fresh read-execute pages and returns their address.</summary>
    /// <exception cref="InvalidOperationException">The operating system refused the mapping (e.g. a W^X policy).</exception>
    public static nint Map(ReadOnlySpan<byte> code)
    {
        if (!IsSupported) throw new PlatformNotSupportedException("runtime-generated kernels need Linux on x86-64");
        if (code.IsEmpty) throw new ArgumentException("no code", nameof(code));
        nuint size = (nuint)((code.Length + 4095) / 4096 * 4096);
        nint page = Mmap(0, size, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (page == -1) throw new InvalidOperationException($"mmap failed (errno {Marshal.GetLastPInvokeError()})");
        code.CopyTo(new Span<byte>((void*)page, code.Length));
        if (Mprotect(page, size, ProtRead | ProtExec) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            Munmap(page, size);
            throw new InvalidOperationException($"mprotect(PROT_EXEC) failed (errno {errno})");
        }
        return page;
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Mprotect(nint addr, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint addr, nuint length);
}
