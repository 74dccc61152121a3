using System.Collections.Frozen;

namespace DeepShrink.Format.Codecs;

/// <summary>The codecs a <c>.dsz</c> reader understands, by name.</summary>
public static class TensorCodecs
{
    private static readonly FrozenDictionary<string, ITensorCodec> ByName = new ITensorCodec[]
    {
        DenseCodec.F32, DenseCodec.F16, Int8Codec.Instance, CodebookCodec.Instance,
        SparseF32Codec.Instance, SparseCodebookCodec.Instance, BinaryCodec.Instance, LowRankCodec.Instance,
    }.ToFrozenDictionary(c => c.Name, StringComparer.Ordinal);

    /// <summary>All codec names.</summary>
    public static IEnumerable<string> Names => ByName.Keys;

    /// <summary>The codec called <paramref name="name"/>; unknown names throw <see cref="DszFormatException"/>.</summary>
    public static ITensorCodec Get(string name) =>
        ByName.TryGetValue(name, out var c) ? c : throw new DszFormatException($"unknown codec '{name}'");
}
