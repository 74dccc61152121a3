using System.Buffers.Binary;
using System.Text;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Format;
using DeepShrink.Onnx;
using DeepShrink.Onnx.Import;
using DeepShrink.Nn;
using DeepShrink.Runtime;
using DeepShrink.Runtime.Tests;

namespace DeepShrink.Fuzz.Tests;

/// <summary>The fuzzed readers with their seed files (all generated from fixed seeds).</summary>
internal static class FuzzTargets
{
    /// <summary>All targets by name, built once per test run.</summary>
    public static IReadOnlyDictionary<string, FuzzTarget> All => s_all.Value;

    private static readonly Lazy<Dictionary<string, FuzzTarget>> s_all = new(() => new[] { Idx(), Safetensors(), Dsz(), DszRuntime(), Recipe(), Onnx(), ImageFolder() }
        .ToDictionary(t => t.Name, StringComparer.Ordinal));

    private static readonly string Scratch = Directory.CreateTempSubdirectory("dsfuzz-").FullName;

    /// <summary>IDX files (raw and gzip; images and labels) read through <see cref="IdxReader.Read"/>.</summary>
    private static FuzzTarget Idx()
    {
        var (pix, lab) = SyntheticData.BlobBytes(6, 3, 5, 4, seed: 5);
        var seeds = new List<byte[]> { IdxWriter.Encode(pix, [6, 5, 4]), IdxWriter.Encode(lab, [6]) };
        string gz = Path.Combine(Scratch, "seed.idx.gz");
        IdxWriter.WriteFile(gz, pix, [6, 5, 4], gzip: true);
        seeds.Add(File.ReadAllBytes(gz));
        Mutator.LengthField[] fields = [new(0, 4, true), new(4, 4, true), new(8, 4, true), new(12, 4, true)];
        string path = Path.Combine(Scratch, "mutant.idx");
        return new FuzzTarget("idx", seeds, (s, rng) => Mutator.Mutate(s, rng, fields), bytes =>
        {
            File.WriteAllBytes(path, bytes);
            IdxReader.Read(path);
        }, [typeof(DatasetException)]);
    }

    /// <summary>Safetensors checkpoints read and converted to floats; half the mutants change the header text and keep its length field true.</summary>
    private static FuzzTarget Safetensors()
    {
        var rng = new Rng(11);
        var tensors = new Dictionary<string, SafetensorsTensor>
        {
            ["fc1.weight"] = SafetensorsTensor.FromTensor(Tensor.Randn(rng, 0.1f, 6, 5)),
            ["fc1.bias"] = SafetensorsTensor.FromTensor(Tensor.Randn(rng, 0.1f, 6)),
            ["steps"] = SafetensorsTensor.FromInt32([1, 2, 3], [3]),
        };
        var seed = SafetensorsWriter.Serialize(tensors, new Dictionary<string, string> { ["deepshrink.arch"] = "mlp", ["note"] = "fuzz seed" });
        return new FuzzTarget("safetensors", [seed], (s, r) =>
        {
            if (r.NextInt(2) == 0) return Mutator.Mutate(s, r, [new(0, 8, false)]);
            int len = (int)BinaryPrimitives.ReadUInt64LittleEndian(s);
            var header = Mutator.MutateText(s.AsSpan(8, len).ToArray(), r);
            var o = new byte[8 + header.Length + s.Length - 8 - len];
            BinaryPrimitives.WriteUInt64LittleEndian(o, (ulong)header.Length);
            header.CopyTo(o, 8);
            s.AsSpan(8 + len).CopyTo(o.AsSpan(8 + header.Length));
            return o;
        }, bytes =>
        {
            var f = SafetensorsReader.Parse(bytes, "mutant.safetensors");
            foreach (var t in f.Tensors.Values) t.ToFloatArray();
        }, [typeof(SafetensorsException)]);
    }

    /// <summary>
    /// .dsz seeds: LeNet-300-100 in Deep Compression storage (sparse codebook + Huffman) and LeNet-5 with
    /// every other codec (int8, binary, low-rank, codebook, sparse f32, f16).
    /// </summary>
    private static readonly Lazy<byte[][]> s_dszSeeds = new(() =>
    {
        using var dir = new TempDir();
        var files = new List<byte[]>
        {
            File.ReadAllBytes(TestModels.Write(TestModels.Create("lenet-300-100", 21), "lenet-300-100", TestModels.DeepCompression(), dir, "dc.dsz")),
        };
        foreach (var codec in new[] { "int8", "binary", "lowrank", "codebook", "sparse-f32", "dense-f16" })
            files.Add(File.ReadAllBytes(TestModels.Write(TestModels.Create("lenet-5", 22), "lenet-5", TestModels.Codec(codec), dir, codec + ".dsz")));
        return files.ToArray();
    });

    private static byte[] DszMutant(byte[] seed, Rng rng) =>
        rng.NextInt(3) == 0 ? Mutator.Mutate(seed, rng, [new(8, 4, false), new(12, 4, false), new(16, 8, false)]) : new DszSealer(seed).Mutant(rng);

    /// <summary>The .dsz reader: read, graph, every tensor decoded and its statistics computed.</summary>
    private static FuzzTarget Dsz() => new("dsz", s_dszSeeds.Value, DszMutant, bytes =>
    {
        var f = DszFile.Read(bytes);
        _ = f.Graph;
        foreach (var t in f.Tensors) { t.Decode(); t.ComputeStats(); }
    }, [typeof(DszFormatException)]);

    /// <summary>
    /// Runtime load (<see cref="InferenceModel.Load(DszFile, RuntimeOptions?)"/>, compressed or dense kernels,
    /// one thread) and one inference; mostly re-sealed mutants, which reach the graph planner.
    /// </summary>
    private static FuzzTarget DszRuntime()
    {
        int calls = 0;
        return new FuzzTarget("dsz-runtime", s_dszSeeds.Value, (s, rng) => rng.NextInt(6) == 0 ? DszMutant(s, rng) : new DszSealer(s).Mutant(rng), bytes =>
        {
            var policy = calls++ % 2 == 0 ? KernelPolicy.Compressed : KernelPolicy.Dense;
            var m = InferenceModel.Load(DszFile.Read(bytes), new RuntimeOptions { Kernels = policy, Threads = 1 });
            m.Run(new float[m.InputSize], 1);
        }, [typeof(DszFormatException), typeof(InvalidDataException)]);
    }

    /// <summary>
    /// ONNX import (<see cref="OnnxImporter.Import(byte[], OnnxImportOptions?)"/>) and building the trainable model
    /// from the result; seeds are models exported by our exporter (LeNet-5: conv, pool, gemm; resnet-20 with
    /// batch norm and residual adds; a conv + ConvTranspose decoder). Protobuf mutants: bit flips, overwrites, truncations, varint-length lies.
    /// </summary>
    private static FuzzTarget Onnx()
    {
        var seeds = new[] { "lenet-5", "resnet-20" }.Select(arch =>
        {
            var m = TestModels.Create(arch, 31);
            return OnnxExporter.ToBytes(m.ToGraph(), m.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ContiguousData()));
        }).ToList();
        // a small decoder: ConvTranspose with stride, asymmetric pads, output padding and groups
        var rng = new Rng(32);
        var dec = new DeepShrink.Nn.Sequential(
            ("down", new DeepShrink.Nn.Conv2d(1, 4, 3, rng, stride: 2, padding: 1)), ("relu", DeepShrink.Nn.Activation.ReLU()),
            ("up", new DeepShrink.Nn.ConvTranspose2d(4, 2, (3, 3), new DeepShrink.Core.Graph.ConvTransposeAttrs(2, 2, 1, 0, 0, 1, 1, 1, 1, 1, 2), rng)));
        seeds.Add(OnnxExporter.ToBytes(dec.AppendGraphRoot([1, 8, 8]), dec.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ContiguousData())));
        return new FuzzTarget("onnx", seeds, (s, rng) => Mutator.Mutate(s, rng, []), bytes =>
        {
            var imported = OnnxImporter.Import(bytes);
            DeepShrink.Nn.GraphLayers.FromTensors(imported.Graph, imported.Tensors);
        }, [typeof(OnnxImportException), typeof(FormatException)]);
    }

    /// <summary>
    /// Image folders (<c>imagefolder:DIR</c> through <see cref="DatasetLoader.Load"/>, resized to 8x8): the mutant is one
    /// training image beside a valid test image; seeds are small PNG, BMP and JPEG files (grey and colour).
    /// </summary>
    private static FuzzTarget ImageFolder()
    {
        var seeds = new List<byte[]>();
        var rng = new Rng(41);
        foreach (var (w, h, grey, enc) in new (int, int, bool, SixLabors.ImageSharp.Formats.IImageEncoder)[]
        {
            (12, 9, false, new SixLabors.ImageSharp.Formats.Png.PngEncoder()),
            (7, 11, true, new SixLabors.ImageSharp.Formats.Png.PngEncoder()),
            (10, 10, false, new SixLabors.ImageSharp.Formats.Bmp.BmpEncoder()),
            (16, 12, false, new SixLabors.ImageSharp.Formats.Jpeg.JpegEncoder()),
        })
        {
            using var img = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(w, h);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    byte v = (byte)rng.NextInt(256);
                    img[x, y] = grey ? new(v, v, v) : new(v, (byte)rng.NextInt(256), (byte)rng.NextInt(256));
                }
            using var ms = new MemoryStream();
            img.Save(ms, enc);
            seeds.Add(ms.ToArray());
        }
        string root = Path.Combine(Scratch, "imagefolder");
        Directory.CreateDirectory(Path.Combine(root, "train", "a"));
        Directory.CreateDirectory(Path.Combine(root, "test", "a"));
        File.WriteAllBytes(Path.Combine(root, "test", "a", "ok.png"), seeds[0]);
        var spec = DatasetSpec.Parse("imagefolder:" + root);
        return new FuzzTarget("imagefolder", seeds, (s, r) => Mutator.Mutate(s, r, []), bytes =>
        {
            foreach (var f in Directory.GetFiles(Path.Combine(root, "train", "a"))) File.Delete(f);
            // the extension of a mutant does not matter to the decoder (it sniffs the format)
            File.WriteAllBytes(Path.Combine(root, "train", "a", "m.png"), bytes);
            DatasetLoader.Load(spec, new DatasetLoadOptions { ImageSize = 8, Channels = 3, ValidationCount = 0 });
        }, [typeof(DatasetException)]);
    }

    /// <summary>YAML recipes (every built-in recipe as a seed) parsed by <see cref="RecipeLoader.Parse"/>.</summary>
    private static FuzzTarget Recipe()
    {
        var asm = typeof(RecipeLoader).Assembly;
        var seeds = asm.GetManifestResourceNames().Where(n => n.EndsWith(".yaml", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(n =>
        {
            using var s = asm.GetManifestResourceStream(n)!;
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            return ms.ToArray();
        }).ToList();
        return new FuzzTarget("recipe", seeds, (s, rng) => Mutator.MutateText(s, rng),
            bytes => RecipeLoader.Parse(Encoding.UTF8.GetString(bytes), "mutant.yaml"), [typeof(RecipeFormatException)]);
    }
}
