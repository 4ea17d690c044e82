using MovingImages.FaceAnalysis;
using MovingImages.Imaging;
using MovingImages.Video;
using OpenCvSharp;
using TorchSharp;

namespace MovingImages.FaceSwap;

/// <summary>How faces are put back into the frame.</summary>
public enum BlendMode
{
    /// <summary>Alpha blending through the feathered mask.</summary>
    Alpha,
    /// <summary>OpenCV's seamless (Poisson) cloning inside the mask.</summary>
    Seamless,
}

/// <summary>Which way faces are swapped.</summary>
public enum SwapDirection
{
    /// <summary>Person A's faces become person B's (the usual swap).</summary>
    AToB,
    /// <summary>Person B's faces become person A's.</summary>
    BToA,
}

/// <summary>Conversion settings, validated in <see cref="Validate"/>.</summary>
/// <param name="Direction">Whose faces become whose.</param>
/// <param name="Filter">Only faces this filter accepts are swapped (null: see <paramref name="OnlySourcePerson"/>).</param>
/// <param name="Blend">Alpha or seamless.</param>
/// <param name="MaskErode">How far the landmark-hull mask is eroded, in per cent of the face crop (the template square).</param>
/// <param name="MaskFeather">How far it is feathered (the blur's reach), in per cent of the face crop.</param>
/// <param name="ColorMatch">Match the new face's per-channel mean and standard deviation to the original's.</param>
/// <param name="MinScore">Face detector threshold.</param>
/// <param name="Start">Video: start at this many seconds.</param>
/// <param name="Duration">Video: convert this many seconds (null: to the end).</param>
/// <param name="SideBySide">Video: write original | converted.</param>
/// <param name="Photos">Video, <see cref="FaceIt.Convert"/>: also write the converted frames as PNG images.</param>
/// <param name="OnlySourcePerson"><see cref="FaceIt.Convert"/> without a <paramref name="Filter"/>: swap only the faces of
/// the person being replaced, recognised from their photo in <c>data/persons/</c> (the book's face filter); false: every face.</param>
public sealed record ConvertOptions(SwapDirection Direction = SwapDirection.AToB, FaceFilter? Filter = null, BlendMode Blend = BlendMode.Alpha,
    double MaskErode = 2, double MaskFeather = 5, bool ColorMatch = true, float MinScore = 0.5f,
    double Start = 0, double? Duration = null, bool SideBySide = false, bool Photos = false, bool OnlySourcePerson = true)
{
    /// <summary>The defaults: A → B, the source person's faces only, alpha blend, colour match, the whole video.</summary>
    public static ConvertOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range; returns the options.</summary>
    public ConvertOptions Validate()
    {
        if (!Enum.IsDefined(Direction)) throw new ArgumentException($"unknown swap direction {(int)Direction}");
        if (!Enum.IsDefined(Blend)) throw new ArgumentException($"unknown blend mode {(int)Blend}");
        if (!(MaskErode >= 0 && MaskErode <= 25) || !(MaskFeather >= 0 && MaskFeather <= 25))
            throw new ArgumentException($"mask erosion and feathering are per cent of the face crop, 0 to 25; got {MaskErode} and {MaskFeather}");
        if (!(MinScore >= 0 && MinScore <= 1)) throw new ArgumentException($"face score threshold must be in [0, 1], got {MinScore}");
        if (!(Start >= 0 && double.IsFinite(Start))) throw new ArgumentException($"start must be 0 or more seconds, got {Start}");
        if (Duration is { } d && !(d > 0 && double.IsFinite(d))) throw new ArgumentException($"duration must be a positive number of seconds, got {d}");
        return this;
    }
}

/// <summary>What happened to one frame. Owns the masks (dispose it, or each mask, when done).</summary>
/// <param name="faces">Faces found.</param>
/// <param name="swapped">Faces replaced.</param>
/// <param name="masks">The frame-sized masks of the replaced faces (255 where the new face was blended in).</param>
public sealed class ConvertedFrame(int faces, int swapped, IReadOnlyList<Mat> masks) : IDisposable
{
    /// <summary>Faces found.</summary>
    public int Faces { get; } = faces;
    /// <summary>Faces replaced.</summary>
    public int Swapped { get; } = swapped;
    /// <summary>The frame-sized masks of the replaced faces (255 where the new face was blended in).</summary>
    public IReadOnlyList<Mat> Masks { get; } = masks;

    /// <summary>Releases the masks.</summary>
    public void Dispose()
    {
        foreach (var m in Masks) m.Dispose();
    }
}

/// <summary>
/// A face model as the converter sees it: the aligned face (the template square, <c>size</c> × <c>size</c>, BGR 8-bit)
/// in, the new face out (a new Mat of the same size and type; the caller disposes it). The trained autoencoder is one;
/// an identity (returns a copy) is the test that the paste-back puts every pixel back where it came from.
/// </summary>
public delegate Mat FaceModelFunction(Mat alignedFace);

/// <summary>
/// Converts frames as faceswap does: detect faces, keep those the face filter accepts, align each to the model's input
/// (the same crop the model was trained on), run encoder → the other decoder, match colours, build a mask from the
/// landmark hull (extended up to the forehead, cut to the model's coverage, eroded and feathered in proportion to the
/// face), warp the new face back and blend it in. Pixels outside the masks are untouched.
/// </summary>
public sealed class FaceSwapConverter
{
    readonly FaceModelFunction _swap;
    readonly int _size;
    readonly double _view;
    readonly Faces _faces;

    /// <summary>Converts with the trained <paramref name="model"/> (in <see cref="ConvertOptions.Direction"/>).</summary>
    public FaceSwapConverter(FaceSwapModel model, Faces faces, ConvertOptions? options = null)
        : this(ModelFunction(model, (options ?? ConvertOptions.Default).Direction), model.Options.ImageSize, faces, options, model.Options.View)
    {
    }

    /// <summary>
    /// Converts with any face model: <paramref name="swap"/> takes and returns <paramref name="size"/>² aligned faces
    /// that show <paramref name="view"/> template squares of the face (<see cref="FaceSwapModelOptions.View"/>).
    /// </summary>
    public FaceSwapConverter(FaceModelFunction swap, int size, Faces faces, ConvertOptions? options = null, double view = FaceSwapModelOptions.DefaultView)
    {
        if (size < 16) throw new ArgumentException($"the model's face size must be at least 16 pixels, got {size}");
        _view = FaceSwapModelOptions.ValidateView(view);
        _swap = swap;
        _size = size;
        _faces = faces;
        Options = (options ?? ConvertOptions.Default).Validate();
    }

    /// <summary>The settings.</summary>
    public ConvertOptions Options { get; }

    /// <summary>Returns a converted copy of <paramref name="frame"/> and what was done.</summary>
    public (Mat Image, ConvertedFrame Info) Convert(Mat frame)
    {
        bool describe = Options.Filter != null;
        var found = _faces.DetectFaces(frame, FaceOptions.Default with { MinScore = Options.MinScore, Landmarks = true, Descriptors = describe });
        var result = frame.Clone();
        var masks = new List<Mat>();
        foreach (var face in found)
        {
            if (face.Landmarks is not { Points.Length: 68 } landmarks) continue;
            if (Options.Filter != null && !Options.Filter.Matches(face)) continue;
            var (next, mask) = SwapFace(result, landmarks);
            result.Dispose();
            result = next;
            masks.Add(mask);
        }
        return (result, new ConvertedFrame(found.Count, masks.Count, masks));
    }

    /// <summary>
    /// Swaps the one face with these <paramref name="landmarks"/>: returns a new image and the frame-sized mask of where
    /// the new face went (the caller disposes both).
    /// </summary>
    public (Mat Image, Mat Mask) SwapFace(Mat image, FaceLandmarks68 landmarks)
    {
        // The model's input is what training showed it: the template square grown to the model's view.
        using var aligned = FaceAligner.Align(image, landmarks, _size, coverage: 1 / _view);
        using var swapped = _swap(aligned.Image);
        if (swapped.Size() != aligned.Image.Size() || swapped.Type() != aligned.Image.Type())
            throw new InvalidOperationException($"the face model returned a {swapped.Cols}×{swapped.Rows} {swapped.Type()} face for a {_size}×{_size} {aligned.Image.Type()} one");
        using var mask = FaceMask(aligned.Landmarks, _size, Options);
        if (Options.ColorMatch) MatchColours(swapped, aligned.Image, mask);
        var next = Options.Blend == BlendMode.Seamless
            ? Seamless(image, swapped, aligned.ToImage, mask)
            : FaceAligner.PasteBack(image, swapped, aligned.ToImage, mask);
        var frameMask = new Mat();
        using (var m = FaceAligner.ToMat(aligned.ToImage)) Cv2.WarpAffine(mask, frameMask, m, image.Size(), InterpolationFlags.Linear, BorderTypes.Constant);
        return (next, frameMask);
    }

    /// <summary>
    /// The blend mask in the model's crop: the extended landmark hull (<see cref="FaceAligner.ExtendedHullMask"/>), eroded
    /// by <see cref="ConvertOptions.MaskErode"/> and feathered by <see cref="ConvertOptions.MaskFeather"/> (per cent of
    /// the crop), and faded to nothing before the crop's edges — the model only ever draws the crop, so no straight edge
    /// of it may show.
    /// </summary>
    public static Mat FaceMask(Point2f[] cropLandmarks, int size, ConvertOptions options)
    {
        int erode = (int)Math.Round(options.MaskErode / 100.0 * size), feather = (int)Math.Round(options.MaskFeather / 100.0 * size);
        var mask = FaceAligner.ExtendedHullMask(cropLandmarks, size);
        if (erode > 0)
        {
            using var kernel = Cv2.GetStructuringElement(MorphShapes.Ellipse, new OpenCvSharp.Size(2 * erode + 1, 2 * erode + 1));
            Cv2.Erode(mask, mask, kernel);
        }
        // The coverage: nothing within the feather's reach of the crop's edge, so the blurred mask is 0 at the edge.
        int margin = feather + 1;                                   // the blur reaches feather pixels
        using (var inside = new Mat(size, size, MatType.CV_8UC1, OpenCvSharp.Scalar.All(0)))
        {
            Cv2.Rectangle(inside, new Rect(margin, margin, size - 2 * margin, size - 2 * margin), OpenCvSharp.Scalar.All(255), -1);
            Cv2.BitwiseAnd(mask, inside, mask);
        }
        if (feather > 0) Cv2.GaussianBlur(mask, mask, new OpenCvSharp.Size(2 * feather + 1, 2 * feather + 1), feather / 2.0);
        return mask;
    }

    static FaceModelFunction ModelFunction(FaceSwapModel model, SwapDirection direction) => face =>
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        model.eval();
        var input = ImageTensor.ToRgbTensor(face, model.parameters().First().device);
        var output = direction == SwapDirection.AToB ? model.SwapAToB(input) : model.SwapBToA(input);
        return ImageTensor.ToBgrMat(output);
    };

    /// <summary>Shifts and scales each channel of <paramref name="face"/> so its mean and deviation inside the mask match <paramref name="reference"/>'s.</summary>
    internal static void MatchColours(Mat face, Mat reference, Mat mask)
    {
        Cv2.MeanStdDev(face, out var fm, out var fs, mask);
        Cv2.MeanStdDev(reference, out var rm, out var rs, mask);
        var channels = Cv2.Split(face);
        try
        {
            for (int c = 0; c < 3; c++)
            {
                double gain = fs[c] > 1e-3 ? rs[c] / fs[c] : 1;
                channels[c].ConvertTo(channels[c], MatType.CV_8UC1, gain, rm[c] - fm[c] * gain);
            }
            Cv2.Merge(channels, face);
        }
        finally
        {
            foreach (var ch in channels) ch.Dispose();
        }
    }

    static Mat Seamless(Mat frame, Mat swapped, double[,] toImage, Mat mask)
    {
        using var m = FaceAligner.ToMat(toImage);
        using var warped = new Mat();
        using var warpedMask = new Mat();
        Cv2.WarpAffine(swapped, warped, m, frame.Size(), InterpolationFlags.Linear, BorderTypes.Constant);
        Cv2.WarpAffine(mask, warpedMask, m, frame.Size(), InterpolationFlags.Linear, BorderTypes.Constant);
        using var binary = new Mat();
        Cv2.Threshold(warpedMask, binary, 127, 255, ThresholdTypes.Binary);
        var box = Cv2.BoundingRect(binary);
        if (box.Width < 3 || box.Height < 3) return frame.Clone();
        var center = new Point(box.X + box.Width / 2, box.Y + box.Height / 2);
        var result = new Mat();
        Cv2.SeamlessClone(warped, frame, binary, center, result, SeamlessCloneFlags.NormalClone);
        return result;
    }

    /// <summary>
    /// Converts a video into <paramref name="output"/>: same size, frame rate and frame count, with the input's sound
    /// (ffmpeg). The options' <see cref="ConvertOptions.Start"/> and <see cref="ConvertOptions.Duration"/> select a part
    /// (in seconds), <see cref="ConvertOptions.SideBySide"/> writes original | converted; <paramref name="photosDirectory"/>
    /// also receives each converted frame as PNG.
    /// </summary>
    public ConvertStats ConvertVideo(string input, string output, string? photosDirectory = null,
        IProgress<(int Frame, int? Total)>? progress = null, CancellationToken cancellationToken = default)
    {
        double start = Options.Start;
        double? duration = Options.Duration;
        bool sideBySide = Options.SideBySide;
        using var source = FrameSources.Open(input);
        var info = source.Info;
        var outInfo = sideBySide ? info with { Width = info.Width * 2 } : info;
        using var sink = new VideoFileSink(output, File.Exists(input) && start == 0 ? input : null);
        sink.Open(outInfo);
        int frames = 0, swapped = 0, facesSeen = 0;
        TimeSpan last = TimeSpan.Zero;
        bool complete = true;
        try
        {
            while (source.Read() is { } frame)
            {
                using (frame)
                {
                    if (frame.Time.TotalSeconds < start) continue;
                    if (duration is { } d && frame.Time.TotalSeconds >= start + d) { complete = false; break; }
                    if (cancellationToken.IsCancellationRequested) { complete = false; break; }
                    var (image, done) = Convert(frame.Image);
                    done.Dispose(); // the masks: not needed for a video
                    facesSeen += done.Faces;
                    swapped += done.Swapped;
                    Mat written = image;
                    if (sideBySide)
                    {
                        written = new Mat();
                        Cv2.HConcat([frame.Image, image], written);
                        image.Dispose();
                    }
                    if (photosDirectory != null) ImageFiles.Write(Path.Combine(photosDirectory, $"frame{frame.Index:D6}.png"), written);
                    using var processed = new ProcessedFrame(new Video.Frame(frame.Index, frame.Time, frame.Image.Clone()), [], true, written);
                    sink.Write(processed);
                    frames++;
                    last = frame.Time;
                    progress?.Report((frames, info.FrameCount));
                }
            }
        }
        finally
        {
            sink.Complete(new RunCompletion(frames, frames == 0 ? TimeSpan.Zero : last - TimeSpan.FromSeconds(start) + TimeSpan.FromSeconds(1 / info.Fps), complete && start == 0, cancellationToken.IsCancellationRequested && !complete));
        }
        return new ConvertStats(frames, facesSeen, swapped, sink.AudioStatus);
    }
}

/// <summary>What a video conversion did.</summary>
/// <param name="Frames">Frames written.</param>
/// <param name="FacesSeen">Faces found in all frames.</param>
/// <param name="FacesSwapped">Faces replaced.</param>
/// <param name="Audio">What happened to the sound.</param>
public sealed record ConvertStats(int Frames, int FacesSeen, int FacesSwapped, string Audio);
