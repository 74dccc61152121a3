using System.Buffers.Binary;
using System.Text;
using DeepShrink.Core;

namespace DeepShrink.Fuzz.Tests;

/// <summary>
/// Deterministic byte-level mutations: bit flips, byte overwrites with boundary values, truncations,
/// deletions, duplications, and length lies (an integer field rewritten with a boundary value).
/// One <see cref="Rng"/> seed gives the same mutant sequence on every machine.
/// </summary>
internal static class Mutator
{
    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x7F, 0x80, 0xFF, (byte)'"', (byte)'\\', (byte)'{', (byte)'[', (byte)':', (byte)'\n'];

    private static readonly ulong[] InterestingLengths =
        [0, 1, 2, 7, 8, 63, 64, 255, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1UL << 40, long.MaxValue, ulong.MaxValue];

    /// <summary>A length field of a format: byte offset, width (4 or 8) and endianness.</summary>
    public readonly record struct LengthField(int Offset, int Width, bool BigEndian);

    /// <summary>One mutant of <paramref name="seed"/>: 1-4 stacked mutations; <paramref name="fields"/> are the length fields to lie in.</summary>
    public static byte[] Mutate(byte[] seed, Rng rng, IReadOnlyList<LengthField> fields)
    {
        var b = (byte[])seed.Clone();
        int count = 1 + rng.NextInt(4);
        for (int i = 0; i < count; i++) b = MutateOnce(b, rng, fields);
        return b;
    }

    private static byte[] MutateOnce(byte[] b, Rng rng, IReadOnlyList<LengthField> fields)
    {
        if (b.Length == 0) return [(byte)rng.NextInt(256)];
        switch (rng.NextInt(7))
        {
            case 0: // bit flip
                b[rng.NextInt(b.Length)] ^= (byte)(1 << rng.NextInt(8));
                return b;
            case 1: // byte overwrite with a boundary or random value
                b[rng.NextInt(b.Length)] = rng.NextInt(2) == 0 ? InterestingBytes[rng.NextInt(InterestingBytes.Length)] : (byte)rng.NextInt(256);
                return b;
            case 2: // truncation
                return b[..rng.NextInt(b.Length)];
            case 3: // delete a run
            {
                int at = rng.NextInt(b.Length), len = 1 + rng.NextInt(Math.Min(16, b.Length - at));
                return [.. b.AsSpan(0, at), .. b.AsSpan(at + len)];
            }
            case 4: // duplicate a run (inserts bytes)
            {
                int at = rng.NextInt(b.Length), len = 1 + rng.NextInt(Math.Min(16, b.Length - at));
                return [.. b.AsSpan(0, at + len), .. b.AsSpan(at, len), .. b.AsSpan(at + len)];
            }
            default: // length lie
                if (fields.Count == 0) goto case 0;
                var f = fields[rng.NextInt(fields.Count)];
                if (f.Offset + f.Width > b.Length) return b;
                ulong v = InterestingLengths[rng.NextInt(InterestingLengths.Length)];
                if (rng.NextInt(3) == 0) v = (ulong)b.Length + (ulong)rng.NextInt(9) - 4; // near the real size
                WriteField(b.AsSpan(f.Offset, f.Width), v, f.BigEndian);
                return b;
        }
    }

    private static void WriteField(Span<byte> s, ulong v, bool bigEndian)
    {
        if (s.Length == 8)
        {
            if (bigEndian) BinaryPrimitives.WriteUInt64BigEndian(s, v); else BinaryPrimitives.WriteUInt64LittleEndian(s, v);
        }
        else if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(s, (uint)v);
        else BinaryPrimitives.WriteUInt32LittleEndian(s, (uint)v);
    }

    private static readonly string[] TextTokens =
    [
        "null", "[]", "{}", "[", "{", "]", "}", "\"", "\\", "\\ud800", "\\udc00\\ud800", "-1", "0", "1e309", "-0", "NaN", ".nan", ".inf",
        "-.inf", "Infinity", "9223372036854775808", "2147483648", "1e-400", ": ", "- ", "? ", "...", "---", "\t", "&a ", "*a", "!!binary ",
        "!!str ", "%YAML 1.1\n", "'", "|", ">", "#", ",", "\n", "\n  ", "\u0000", "\u00ff", "\ud83d\ude00", "true", "false", "~",
    ];

    /// <summary>A text mutant: token insertions/replacements plus the byte mutations (which may break UTF-8).</summary>
    public static byte[] MutateText(byte[] seed, Rng rng)
    {
        if (rng.NextInt(3) == 0) return Mutate(seed, rng, []);
        var s = Encoding.UTF8.GetString(seed);
        int count = 1 + rng.NextInt(3);
        for (int i = 0; i < count; i++)
        {
            string tok = TextTokens[rng.NextInt(TextTokens.Length)];
            int at = rng.NextInt(s.Length + 1);
            if (rng.NextInt(2) == 0) s = s.Insert(at, tok);
            else
            {   // replace the token (word, number, or punctuation run) at `at`
                int end = at;
                while (end < s.Length && !char.IsWhiteSpace(s[end]) && end - at < 24) end++;
                s = s[..at] + tok + s[end..];
            }
        }
        var bytes = Encoding.UTF8.GetBytes(s);
        if (rng.NextInt(8) == 0 && bytes.Length > 0) bytes[rng.NextInt(bytes.Length)] = (byte)(0x80 + rng.NextInt(128)); // invalid UTF-8
        return bytes;
    }
}
