using DeepShrink.Compression.Distillation;
using DeepShrink.Core;
using DeepShrink.Nn;
using DeepShrink.Nn.Optim;

namespace DeepShrink.Compression.Tests;

/// <summary>Distillation checkpoints: a run cut short and continued repeats the uninterrupted run bit for bit.</summary>
public class DistillCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ds-distill-ck-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static GraphModule Net(ulong seed, int hidden) => DistillationFamilyTests.RegressionNet(seed, hidden);

    // two-stage FitNets with a margin hint kept in the main stage and augmentation: every kind of state a run carries
    // (student, batch-norm statistics, a regressor with batch norm, momentum, the hint stage before the main one)
    private static readonly DistillOptions Opts = new()
    {
        Hint = "bn", Guided = "bn", HintLoss = "margin", HintEpochs = 2, HintWeight = 2f, Epochs = 3, BatchSize = 16, Seed = 7, CropPadding = 1,
    };

    private sealed class Crash : Exception;

    // runs to the end, or throws Crash when epoch `crashAt` (0-based over all epochs) ends, before its checkpoint is written
    private static (Dictionary<string, float[]> Student, Dictionary<string, float[]> Regressor, List<DistillEpoch> History) Run(
        string? checkpoint, bool resume, int crashAt = -1, DistillOptions? opts = null)
    {
        var teacher = Net(1, 16);
        var student = Net(2, 6);
        int seen = 0;
        var d = new Distiller(teacher, student, opts ?? Opts)
        {
            CheckpointPath = checkpoint, Resume = resume,
            OnEpoch = e => { e.Metrics["n"] = seen; if (seen++ == crashAt) throw new Crash(); },
        };
        var h = d.Run(HintTermTests.Labelled(48, 3));
        return (Snapshot(student), Snapshot(d.Regressors[0]), h);
    }

    private static Dictionary<string, float[]> Snapshot(Module m) => m.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    private static void AssertSame(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (k, v) in a) Assert.True(v.SequenceEqual(b[k]), $"{k} differs");
    }

    [Theory]
    [InlineData(1)] // in the hint stage (the checkpoint after its first epoch)
    [InlineData(2)] // at the end of the hint stage
    [InlineData(4)] // in the main stage
    public void ARunCutShortAndContinued_RepeatsTheUninterruptedRun_BitForBit(int crashAt)
    {
        var whole = Run(null, false);
        var path = Path.Combine(_dir, "run.ck");
        Assert.Throws<Crash>(() => Run(path, false, crashAt));
        Assert.True(File.Exists(path)); // the epochs before the crash are saved
        var ck = DistillCheckpoint.Load(path);
        Assert.Equal(crashAt, ck.History.Count);
        Assert.Equal(crashAt <= 2 ? 0 : 1, ck.Stage);
        var continued = Run(path, true);
        AssertSame(whole.Student, continued.Student);
        AssertSame(whole.Regressor, continued.Regressor);
        Assert.Equal(whole.History.Select(h => (h.Stage, h.Epoch, h.Loss)), continued.History.Select(h => (h.Stage, h.Epoch, h.Loss)));
        Assert.Equal(Enumerable.Range(0, crashAt).Select(i => (double)i), continued.History.Take(crashAt).Select(h => h.Metrics["n"])); // kept from before
    }

    [Fact]
    public void Resume_WithoutACheckpointFile_StartsFromTheBeginning()
    {
        var path = Path.Combine(_dir, "none.ck");
        var whole = Run(null, false);
        var fresh = Run(path, true);
        AssertSame(whole.Student, fresh.Student);
        Assert.True(File.Exists(path));
        Assert.Equal(5, DistillCheckpoint.Load(path).History.Count);
    }

    [Fact]
    public void ACheckpointOfAnotherRun_IsRefused_NamingWhatDiffers()
    {
        var path = Path.Combine(_dir, "seed.ck");
        Assert.Throws<Crash>(() => Run(path, false, 2));
        var before = File.ReadAllBytes(path);
        var e = Assert.Throws<ArgumentException>(() => Run(path, true, opts: Opts with { Seed = 8 }));
        Assert.Contains("Seed: 7 in the checkpoint, 8 now", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(before, File.ReadAllBytes(path)); // left as it was
        var lr = Assert.Throws<ArgumentException>(() => Run(path, true, opts: Opts with { Lr = 0.01f }));
        Assert.Contains("Lr: 0.05 in the checkpoint, 0.01 now", lr.Message);
    }

    [Fact]
    public void ADamagedOrForeignFile_IsRefusedWithOneLine()
    {
        var path = Path.Combine(_dir, "bad.ck");
        Assert.Throws<Crash>(() => Run(path, false, 2));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var cut = Assert.Throws<InvalidDataException>(() => Run(path, true));
        Assert.Contains("not a readable distillation checkpoint", cut.Message);
        var model = Path.Combine(_dir, "model.safetensors");
        DeepShrink.Format.Checkpoint.Save(model, Net(1, 4).StateDict());
        var foreign = Assert.Throws<InvalidDataException>(() => DistillCheckpoint.Load(model));
        Assert.Contains("not a distillation checkpoint", foreign.Message);
        Assert.DoesNotContain('\n', foreign.Message);
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    public void OptimiserState_SavedAndLoaded_ContinuesLikeTheOriginal(string kind)
    {
        static (Tensor W, Optimizer O) Make(string kind)
        {
            var w = Tensor.Uniform(new Rng(1), -1f, 1f, 5);
            Optimizer o = kind == "sgd" ? new Sgd([("w", w)], 0.1f, 0.9f, 1e-3f, nesterov: true) : new Adam([("w", w)], 0.05f);
            return (w, o);
        }
        static void Step(Tensor w, Optimizer o, int k)
        {
            w.Grad = Tensor.Uniform(new Rng((ulong)(10 + k)), -1f, 1f, 5);
            o.Step();
        }
        var (w1, o1) = Make(kind);
        for (int k = 0; k < 3; k++) Step(w1, o1, k);
        var state = o1.SaveState();
        Assert.NotEmpty(state);
        var (w2, o2) = Make(kind);
        w2.CopyFrom(w1);
        o2.LoadState(state);
        for (int k = 3; k < 6; k++) { Step(w1, o1, k); Step(w2, o2, k); }
        Assert.Equal(w1.ToArray(), w2.ToArray());
        // without the state the continuation differs (the state matters)
        var (w3, o3) = Make(kind);
        w3.CopyFrom(w2);
        for (int k = 3; k < 6; k++) Step(w3, o3, k);
        Assert.NotEqual(w2.ToArray(), w3.ToArray());
    }

    [Fact]
    public void OptimiserState_OfAnotherShapeOrKind_IsRefused_AndChangesNothing()
    {
        var w = Tensor.Uniform(new Rng(1), -1f, 1f, 5);
        var sgd = new Sgd([("w", w)], 0.1f, 0.9f);
        w.Grad = Tensor.Uniform(new Rng(2), -1f, 1f, 5);
        sgd.Step();
        var good = sgd.SaveState();
        var wrongLength = Assert.Throws<ArgumentException>(() => sgd.LoadState(new Dictionary<string, float[]> { ["velocity.w"] = new float[4] }));
        Assert.Contains("has 4 values, w needs 5", wrongLength.Message);
        Assert.Throws<ArgumentException>(() => sgd.LoadState(new Dictionary<string, float[]> { ["m.w"] = new float[5] })); // Adam's
        Assert.Throws<ArgumentException>(() => sgd.LoadState(new Dictionary<string, float[]> { ["velocity.x"] = new float[5] }));
        Assert.Equal(good["velocity.w"], sgd.SaveState()["velocity.w"]);
        var adam = new Adam([("w", w)], 0.1f);
        Assert.Throws<ArgumentException>(() => adam.LoadState(new Dictionary<string, float[]> { ["step.w"] = [1.5f] }));
    }
}
