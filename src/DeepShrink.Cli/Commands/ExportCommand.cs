using DeepShrink.Nn.IO;
using System.CommandLine;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Compression;
using DeepShrink.Core;
using DeepShrink.Format;
using DeepShrink.Onnx;

namespace DeepShrink.Cli.Commands;

/// <summary>
/// The <c>export</c> verb: writes a .safetensors or .dsz model as ONNX (pruned or shared weights
/// densely), then loads the file in ONNX Runtime and compares its outputs with ours on a few inputs.
/// </summary>
public static class ExportCommand
{
    /// <summary>Export formats.</summary>
    public static readonly string[] Formats = ["onnx"];

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model to export: .safetensors or .dsz", Required = true };
        var format = new Option<string>("--format") { Description = "Output format: onnx", DefaultValueFactory = _ => "onnx" };
        var output = new Option<string>("--out") { Description = "File to write (.onnx)", Required = true };
        var json = CommonOptions.Json();
        var cmd = new Command("export", "Export a model to ONNX (opset 13, dynamic batch) and check it in ONNX Runtime");
        foreach (var o in new Option[] { model, format, output, json }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            var fmt = pr.GetValue(format)!;
            if (!Formats.Contains(fmt)) throw new CliException($"unsupported export format '{fmt}' (supported: {string.Join(", ", Formats)})", 2);
            var report = Run(pr.GetValue(model)!, pr.GetValue(output)!);
            report.WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }

    /// <summary>Exports and checks; returns the report.</summary>
    public static JsonReport Run(string modelPath, string outPath)
    {
        OutputPath.Check(outPath);
        var kind = ModelFiles.Detect(modelPath);
        IClassifier ours;
        switch (kind)
        {
            case ModelFiles.Kind.Safetensors:
                var stored = ModelIO.Load(modelPath, DeepShrink.Compression.Quantization.InputHooks.Factories);
                OnnxExport.FromModule(stored.Model, stored.SampleShape, stored.Metadata, outPath);
                ours = ModelFiles.Open(modelPath);
                break;
            case ModelFiles.Kind.Dsz:
                OnnxExport.FromDsz(DszFile.Read(modelPath), outPath);
                ours = DszModels.Open(modelPath);
                break;
            default:
                throw new CliException($"{modelPath} is already an ONNX model");
        }
        float diff = Check(ours, outPath);
        long bytes = new FileInfo(outPath).Length;
        Console.WriteLine($"wrote {outPath} ({bytes:N0} bytes, ONNX opset {OnnxExporter.Opset}); ONNX Runtime vs {ours.Engine}: max |diff| {diff:G3} on 8 random inputs");
        return new JsonReport().Set("model", modelPath).Set("format", "onnx").Set("out", outPath).Set("bytes", bytes)
            .Set("opset", OnnxExporter.Opset).Set("check_max_abs_diff", (double)diff).Set("check_engine", ours.Engine);
    }

    /// <summary>Max |ours - ONNX Runtime| over 8 seeded random inputs.</summary>
    private static float Check(IClassifier ours, string onnxPath)
    {
        var onnx = OnnxModels.Open(onnxPath);
        var x = Tensor.Randn(new Rng(2024), 1f, [8, .. ours.SampleShape]);
        return ours.Forward(x).MaxAbsDiff(onnx.Forward(x));
    }
}
