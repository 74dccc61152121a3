using DeepShrink.Core;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace DeepShrink.Data;

/// <summary>
/// Loads <c>imagefolder:DIR</c>: JPEG, PNG and BMP images (decoded with SixLabors.ImageSharp) in one
/// sub-folder per class.
/// </summary>
/// <remarks>
/// <para>Layout: DIR holds <c>train/</c> and <c>test/</c> (and optionally <c>val/</c>), each with one
/// sub-folder per class; or DIR itself holds the class sub-folders and is split per class,
/// deterministically (<see cref="DatasetLoadOptions.SplitSeed"/>, <see cref="DatasetLoadOptions.TestFraction"/>),
/// into train and test. Class names sorted ordinally give the labels; every split must have the
/// same class folders. A folder with images and no sub-folders is one unlabelled class 0
/// (<c>NumClasses</c> 1), e.g. for distillation. A <c>val/</c> folder is the validation set and
/// <see cref="DatasetLoadOptions.ValidationCount"/> is then ignored; otherwise that many training
/// images are carved out as for IDX data.</para>
/// <para>Images (files ending .png, .jpg, .jpeg, .bmp, any case; other files are ignored) are read in
/// ordinal file-name order, converted to the requested channels and size (<see cref="ImageTransform"/>)
/// and stored as bytes. Without <see cref="DatasetLoadOptions.ImageSize"/> all images must have the
/// size of the first; without <see cref="DatasetLoadOptions.Channels"/> the samples have 1 channel
/// when every image is grey, else 3. Normalisation: <see cref="DatasetLoadOptions.Normalization"/>
/// or the exact per-channel statistics of the training images.</para>
/// </remarks>
public static class ImageFolderReader
{
    /// <summary>File extensions read as images.</summary>
    public static IReadOnlyList<string> Extensions { get; } = new[] { ".png", ".jpg", ".jpeg", ".bmp" };

    /// <summary>Largest accepted image, in pixels (width x height), checked before decoding.</summary>
    public const long MaxPixels = 64L * 1024 * 1024;

    /// <summary>Pixels any image may have whatever its file size (1 Mpx).</summary>
    public const long MinPixelBudget = 1L << 20;

    /// <summary>
    /// Above <see cref="MinPixelBudget"/>, the most pixels per file byte an image may claim (photographs are
    /// near 1-10; only huge flat synthetic images compress more), so decoding allocates a bounded multiple of the file.
    /// </summary>
    public const long PixelsPerFileByte = 16;

    private sealed record Listing(string Dir, string[] Classes, List<(string Path, int Label)> Files);

    /// <summary>Reads, checks, converts and normalises the image folder of <paramref name="spec"/>.</summary>
    /// <exception cref="DatasetException">The layout is wrong, a folder is empty, or an image cannot be decoded (the message names the file).</exception>
    public static DatasetSplits Load(DatasetSpec spec, DatasetLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        ImageTransform.CheckOptions(options);
        string root = spec.Directory;
        if (!Directory.Exists(root)) throw new DatasetException($"imagefolder: directory '{root}' does not exist");
        string trainDir = Path.Combine(root, "train"), testDir = Path.Combine(root, "test"), valDir = Path.Combine(root, "val");
        List<(string, int)> trainFiles, testFiles;
        List<(string, int)>? valFiles = null;
        string[] classes;
        if (Directory.Exists(trainDir) || Directory.Exists(testDir))
        {
            if (!Directory.Exists(trainDir)) throw new DatasetException($"imagefolder: '{root}' has test/ but no train/");
            if (!Directory.Exists(testDir)) throw new DatasetException($"imagefolder: '{root}' has train/ but no test/");
            var train = List(trainDir);
            var test = List(testDir);
            CheckSameClasses(train, test);
            classes = train.Classes; trainFiles = train.Files; testFiles = test.Files;
            if (Directory.Exists(valDir))
            {
                var val = List(valDir);
                CheckSameClasses(train, val);
                valFiles = val.Files;
            }
        }
        else
        {
            if (!(options.TestFraction > 0 && options.TestFraction < 1))
                throw new DatasetException($"imagefolder: test fraction {options.TestFraction} must be in (0, 1)");
            var all = List(root);
            classes = all.Classes;
            (trainFiles, testFiles) = Split(all.Files, classes.Length == 0 ? 1 : classes.Length, options.TestFraction, options.SplitSeed);
        }

        int numClasses = Math.Max(classes.Length, 1);
        IReadOnlyList<string>? names = classes.Length == 0 ? null : classes;
        int? size = options.ImageSize;
        (int H, int W)? target = size is int s ? (s, s) : null;
        string? first = null;
        var trainData = Decode(trainFiles, ref target, ref first, size is not null, options.Channels, out bool trainGrey);
        var testData = Decode(testFiles, ref target, ref first, size is not null, options.Channels, out bool testGrey);
        var valData = valFiles is null ? null : Decode(valFiles, ref target, ref first, size is not null, options.Channels, out _);
        bool grey = options.Channels == 1 || (options.Channels is null && trainGrey && testGrey && (valData?.AllGrey ?? true));
        int ch = grey ? 1 : 3;
        var (h, w) = target!.Value;
        var trainBytes = Finish(trainData, ch, h, w);
        var testBytes = Finish(testData, ch, h, w);
        var valBytes = valData is null ? null : Finish(valData, ch, h, w);
        if (ch == 3 && options.ChannelOrder is { } order)
        {   // colour samples in the model's channel order, before normalisation (grey ones have equal planes: unchanged)
            ChannelOrder.Apply(trainBytes, trainFiles.Count, 3, h * w, order);
            ChannelOrder.Apply(testBytes, testFiles.Count, 3, h * w, order);
            if (valBytes is not null) ChannelOrder.Apply(valBytes, valFiles!.Count, 3, h * w, order);
        }

        var norm = options.Normalization ?? Normalization.FromPixels(trainBytes, ch, h * w);
        var trainSet = ImageDataset.FromBytes(trainBytes, new[] { trainFiles.Count, ch, h, w }, Labels(trainFiles), numClasses, norm, names);
        var testSet = ImageDataset.FromBytes(testBytes, new[] { testFiles.Count, ch, h, w }, Labels(testFiles), numClasses, norm, names);
        ImageDataset? validation = valBytes is null ? null
            : ImageDataset.FromBytes(valBytes, new[] { valFiles!.Count, ch, h, w }, Labels(valFiles), numClasses, norm, names);
        if (options.ValidationCount > 0 && validation is null)
        {
            if (options.ValidationCount >= trainSet.Count)
                throw new DatasetException($"{spec}: validation count {options.ValidationCount} must be smaller than the {trainSet.Count} training samples");
            (trainSet, validation) = trainSet.SplitValidation(options.ValidationCount, options.ValidationSeed);
        }
        return new DatasetSplits(spec, trainSet, validation, testSet, norm);
    }

    private static int[] Labels(List<(string Path, int Label)> files) => files.Select(f => f.Label).ToArray();

    private static bool IsImage(string path) =>
        Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    private static Listing List(string dir)
    {
        var subdirs = Directory.GetDirectories(dir).Select(Path.GetFileName).Where(n => n is not null && !n.StartsWith('.')).Select(n => n!)
            .OrderBy(n => n, StringComparer.Ordinal).ToArray();
        var loose = ImagesIn(dir);
        if (subdirs.Length > 0 && loose.Length > 0)
            throw new DatasetException($"imagefolder: '{dir}' has both images ({Path.GetFileName(loose[0])}, ...) and class sub-folders ({subdirs[0]}, ...); use one or the other");
        var files = new List<(string, int)>();
        if (subdirs.Length == 0)
        {
            if (loose.Length == 0)
                throw new DatasetException($"imagefolder: '{dir}' has no class sub-folders and no images ({string.Join(", ", Extensions)})");
            foreach (var f in loose) files.Add((f, 0));
            return new Listing(dir, Array.Empty<string>(), files);
        }
        for (int c = 0; c < subdirs.Length; c++)
        {
            string cdir = Path.Combine(dir, subdirs[c]);
            var imgs = ImagesIn(cdir);
            if (imgs.Length == 0)
                throw new DatasetException($"imagefolder: class folder '{cdir}' has no images ({string.Join(", ", Extensions)})");
            foreach (var f in imgs) files.Add((f, c));
        }
        return new Listing(dir, subdirs, files);
    }

    private static string[] ImagesIn(string dir) =>
        Directory.GetFiles(dir).Where(IsImage).Where(f => !Path.GetFileName(f).StartsWith('.'))
            .OrderBy(f => f, StringComparer.Ordinal).ToArray();

    private static void CheckSameClasses(Listing a, Listing b)
    {
        if (a.Classes.SequenceEqual(b.Classes, StringComparer.Ordinal)) return;
        static string Show(string[] c) => c.Length == 0 ? "unlabelled images" : $"classes {string.Join(", ", c)}";
        var onlyA = a.Classes.Except(b.Classes, StringComparer.Ordinal).ToArray();
        var onlyB = b.Classes.Except(a.Classes, StringComparer.Ordinal).ToArray();
        string detail = a.Classes.Length == 0 || b.Classes.Length == 0
            ? $"'{a.Dir}' has {Show(a.Classes)} but '{b.Dir}' has {Show(b.Classes)}"
            : $"class folders differ: only in '{a.Dir}': [{string.Join(", ", onlyA)}], only in '{b.Dir}': [{string.Join(", ", onlyB)}]";
        throw new DatasetException($"imagefolder: {detail}");
    }

    /// <summary>Per class, a seeded shuffle sends round(n * fraction) images (at least 1 when n >= 2, at most n - 1) to test; both keep file order.</summary>
    private static (List<(string, int)> Train, List<(string, int)> Test) Split(List<(string Path, int Label)> files, int classes, double fraction, ulong seed)
    {
        var rng = new Rng(seed);
        var isTest = new bool[files.Count];
        for (int c = 0; c < classes; c++)
        {
            var idx = Enumerable.Range(0, files.Count).Where(i => files[i].Label == c).ToArray();
            int n = idx.Length;
            int k = n < 2 ? 0 : Math.Clamp((int)Math.Round(n * fraction, MidpointRounding.AwayFromZero), 1, n - 1);
            rng.Fork().Shuffle(idx.AsSpan());
            for (int i = 0; i < k; i++) isTest[idx[i]] = true;
        }
        var train = new List<(string, int)>();
        var test = new List<(string, int)>();
        for (int i = 0; i < files.Count; i++) (isTest[i] ? test : train).Add(files[i]);
        return (train, test);
    }

    private sealed class Decoded
    {
        public required List<byte[]> Samples { get; init; }   // each [C0, H, W] with C0 = requested channels or 3
        public bool AllGrey { get; set; } = true;
    }

    private static Decoded Decode(List<(string Path, int Label)> files, ref (int H, int W)? target, ref string? first, bool resize, int? channels, out bool allGrey)
    {
        int stored = channels ?? 3;
        var d = new Decoded { Samples = new List<byte[]>(files.Count) };
        foreach (var (path, _) in files)
        {
            var (rgb, h, w, grey) = ReadRgb(path);
            if (target is null) { target = (h, w); first = path; }
            var (th, tw) = target.Value;
            if ((h != th || w != tw) && !resize)
                throw new DatasetException($"{path}: image is {w}x{h} but {first} is {tw}x{th}; give an image size (--image-size N) to resize them all");
            if (!grey) d.AllGrey = false;
            var sample = new byte[stored * th * tw];
            ImageTransform.Convert(rgb, 3, h, w, sample, stored, th, tw);
            d.Samples.Add(sample);
        }
        allGrey = d.AllGrey;
        return d;
    }

    private static byte[] Finish(Decoded d, int channels, int h, int w)
    {
        int plane = h * w, ss = channels * plane;
        var result = new byte[(long)d.Samples.Count * ss];
        for (int i = 0; i < d.Samples.Count; i++)
        {
            // Stored with 3 channels but all grey: the three planes are identical, keep the first.
            d.Samples[i].AsSpan(0, ss).CopyTo(result.AsSpan(i * ss, ss));
        }
        return result;
    }

    /// <summary>Decodes one image file to planar RGB bytes [3, H, W]; reports whether every pixel has R = G = B.</summary>
    /// <exception cref="DatasetException">The file cannot be read or decoded, or is too large; the message names it.</exception>
    public static (byte[] Rgb, int Height, int Width, bool Grey) ReadRgb(string path)
    {
        try
        {
            var info = Image.Identify(path) ?? throw new DatasetException($"{path}: not a recognised image (expected JPEG, PNG or BMP)");
            if (info.Width <= 0 || info.Height <= 0 || (long)info.Width * info.Height > MaxPixels)
                throw new DatasetException($"{path}: image size {info.Width}x{info.Height} is out of range (at most {MaxPixels} pixels)");
            // A header may claim far more pixels than its bytes can hold; decoding would allocate the claim.
            long bytes = new FileInfo(path).Length, limit = Math.Max(MinPixelBudget, PixelsPerFileByte * bytes);
            if ((long)info.Width * info.Height > limit)
                throw new DatasetException($"{path}: header claims {info.Width}x{info.Height} pixels from {bytes} bytes (more than {PixelsPerFileByte} pixels per byte above {MinPixelBudget}); refusing to decode");
            using var img = Image.Load<Rgb24>(path);
            int h = img.Height, w = img.Width, plane = h * w;
            var px = new Rgb24[plane];
            img.CopyPixelDataTo(px);
            var planar = new byte[3 * plane];
            bool grey = true;
            for (int i = 0; i < plane; i++)
            {
                var p = px[i];
                planar[i] = p.R; planar[plane + i] = p.G; planar[2 * plane + i] = p.B;
                if (p.R != p.G || p.G != p.B) grey = false;
            }
            return (planar, h, w, grey);
        }
        catch (DatasetException) { throw; }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new DatasetException($"{path}: cannot decode image: {OneLine(ex.Message)}", ex);
        }
    }

    private static string OneLine(string s) => string.Join(' ', s.Split(new[] { '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries)).Trim();
}
