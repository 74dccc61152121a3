using DeepShrink.Format;
using DeepShrink.Onnx;
using DeepShrink.Onnx.Import;
using DeepShrink.Runtime;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>
/// Our runtime against ONNX Runtime on the same model file: an .onnx file is imported and compared
/// with ONNX Runtime on the original; a checkpoint or .dsz is run by our runtime (a .dsz as stored) and
/// by ONNX Runtime on its ONNX export. Inputs are real test images resized to the model's input.
/// </summary>
public static class OrtParity
{
    /// <summary>The comparison, the ONNX file ONNX Runtime ran ("original" or "export") and the inputs used.</summary>
    public sealed record Report(ParityResult Result, string Onnx, string Inputs);

    /// <summary>Runs <paramref name="samples"/> images through both engines (<paramref name="threads"/> 0 = default).</summary>
    public static Report Measure(string path, int samples, int threads)
    {
        if (ModelFiles.Detect(path) == ModelFiles.Kind.Onnx)
        {
            var (m, _, norm, _) = Commands.ImportCommand.Load(path, globalPool: false, "auto");
            var (inputs, source) = ParityInputs.Make(m.Graph.InputShape, samples, norm);
            return new Report(OnnxParity.Compare(m, path, inputs, samples, threads), "original", source);
        }
        var loaded = ModelFiles.LoadTrainable(path);
        var temp = Path.Combine(Path.GetTempPath(), $"deepshrink-parity-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        try
        {
            InferenceModel ours;
            if (ModelFiles.Detect(path) == ModelFiles.Kind.Dsz)
            {
                OnnxExport.FromDsz(DszFile.Read(path), temp);
                ours = InferenceModel.Load(path, threads > 0 ? RuntimeOptions.Default with { Threads = threads } : null);
            }
            else
            {
                OnnxExport.FromModule(loaded.Model, loaded.SampleShape, loaded.Metadata, temp);
                ours = InferenceModel.LoadDense(loaded.Model.ToGraph(), loaded.Model.StateDict(), loaded.Metadata,
                    new RuntimeOptions { Threads = threads, Kernels = KernelPolicy.Dense });
            }
            var (inputs, source) = ParityInputs.Make(loaded.SampleShape, samples, ModelFiles.NormOf(loaded.Meta(Nn.IO.ModelIO.NormalizationKey)));
            return new Report(OnnxParity.Compare(ours, loaded.SampleShape, temp, inputs, samples, threads), "export", source);
        }
        finally { File.Delete(temp); }
    }
}
