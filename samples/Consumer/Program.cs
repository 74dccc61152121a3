// The README's library example: load a model, compress it with a recipe written in code (no YAML), save the .dsz,
// run it with the runtime. Usage: Consumer MODEL.safetensors OUT.dsz [DATASET] (default fashion-mnist).
using DeepShrink.Compression;
using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Compression.Sharing;
using DeepShrink.Data;
using DeepShrink.Nn.IO;
using DeepShrink.Runtime;

if (args.Length < 2) { Console.Error.WriteLine("usage: Consumer MODEL.safetensors OUT.dsz [DATASET]"); return 2; }
string modelPath = args[0], outPath = args[1], dataset = args.Length > 2 ? args[2] : "fashion-mnist";

// --- README example (docs/nuget/README.md) ---
var model = ModelIO.Load(modelPath, InputHooks.Factories);
var data = DatasetLoader.Load(DatasetSpec.Parse(dataset), new DatasetLoadOptions { Normalization = Normalization.FashionMnist, ValidationCount = 5000 });
LayerRule[] skipBias = [new("*.bias", Skip: true, Sparsity: null, Bits: null)];
var recipe = new Recipe
{
    Name = "prune-share-huffman",
    Components = new Dictionary<string, ComponentSpec>
    {
        ["pruner"] = new PruningSpec("pruner", Sparsity: 0.9, Quality: null, MaxDropPp: 2, skipBias),
        ["sharing"] = new SharingSpec("sharing", ConvBits: 8, FcBits: 4, AutoBits: false, CentroidInit.Linear, CentroidLrScale: 1, skipBias),
        ["encoder"] = new EncoderSpec("encoder", ConvIndexBits: 0, FcIndexBits: 0, Huffman: true, BiasCodec: "f16"),
    },
    Policies = [new("pruner", 0, 2, 1), new("sharing", 2, 3, 0), new("encoder", 3, 0, 0)],
};
var result = Compressor.Run(new CompressionJob
{
    Model = model, Recipe = recipe, Train = data.Train, Validation = data.Validation!, Test = data.Test, OutPath = outPath, MaxDropPp = 2,
});
var runtime = InferenceModel.Load(outPath);
float[] logits = runtime.Run(data.Test.Sample(0), batch: 1);
// --- end of the README example ---

Console.WriteLine($"{outPath}: {result.CompressedBytes} bytes ({result.Ratio:F1}x), test accuracy {result.BaselineAccuracy:P2} -> {result.CompressedAccuracy:P2}");
Console.WriteLine($"image 0: predicted {Array.IndexOf(logits, logits.Max())}, label {data.Test.Label(0)}");
return 0;
