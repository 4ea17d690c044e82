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
/// <param name="MaskErode">Pixels the landmark-hull mask is eroded by (in the model's crop).</param>
/// <param name="MaskFeather">Pixels it is feathered by.</param>
/// <param name="ColorMatch">Match the new face's per-channel mean and standard deviation to the original's.</param>
/// <param name="MinScore">Face detector threshold.</param>
/// <param name="Start">Video: start at this many seconds.</param>
/// <param name="Duration">Video: convert this many seconds (null: to the end).</param>
/// <param name="SideBySide">Video: write original | converted.</param>
/// <param name="Photos">Video, <see cref="FaceIt.Convert"/>: also write the converted frames as PNG images.</param>
/// <param name="OnlySourcePerson"><see cref="FaceIt.Convert"/> without a <paramref name="Filter"/>: swap only the faces of
/// the person being replaced, recognised from their photo in <c>data/persons/</c> (the book's face filter); false: every face.</param>
public sealed record ConvertOptions(SwapDirection Direction = SwapDirection.AToB, FaceFilter? Filter = null, BlendMode Blend = BlendMode.Alpha,
    int MaskErode = 2, int MaskFeather = 3, bool ColorMatch = true, float MinScore = 0.5f,
    double Start = 0, double? Duration = null, bool SideBySide = false, bool Photos = false, bool OnlySourcePerson = true)
{
    /// <summary>The defaults: A → B, the source person's faces only, alpha blend, colour match, the whole video.</summary>
    public static ConvertOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range; returns the options.</summary>
    public ConvertOptions Validate()
    {
        if (!Enum.IsDefined(Direction)) throw new ArgumentException($"unknown swap direction {(int)Direction}");
        if (!Enum.IsDefined(Blend)) throw new ArgumentException($"unknown blend mode {(int)Blend}");
        if (MaskErode < 0 || MaskFeather < 0) throw new ArgumentException($"mask erosion and feathering must be 0 or more, got {MaskErode} and {MaskFeather}");
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
/// Converts frames as faceswap does: detect faces, keep those the face filter accepts, align each to the model's input
/// (the same crop the model was trained on), run encoder → the other decoder, match colours, build a mask from the
/// landmark hull (eroded, feathered), warp the new face back and blend it in. Pixels outside the masks are untouched.
/// </summary>
public sealed class FaceSwapConverter(FaceSwapModel model, Faces faces, ConvertOptions? options = null)
{
    /// <summary>The settings.</summary>
    public ConvertOptions Options { get; } = (options ?? ConvertOptions.Default).Validate();

    /// <summary>Returns a converted copy of <paramref name="frame"/> and what was done.</summary>
    public (Mat Image, ConvertedFrame Info) Convert(Mat frame)
    {
        bool describe = Options.Filter != null;
        var found = faces.DetectFaces(frame, FaceOptions.Default with { MinScore = Options.MinScore, Landmarks = true, Descriptors = describe });
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
        int size = model.Options.ImageSize;
        // The model's input is the template square itself (the training targets cover it wholly): coverage 1.
        using var aligned = FaceAligner.Align(image, landmarks, size, coverage: 1.0);
        using var swapped = Swap(aligned.Image);
        using var mask = FaceAligner.HullMask(aligned.Landmarks, size, Options.MaskErode, Options.MaskFeather);
        if (Options.ColorMatch) MatchColours(swapped, aligned.Image, mask);
        var next = Options.Blend == BlendMode.Seamless
            ? Seamless(image, swapped, aligned.ToImage, mask)
            : FaceAligner.PasteBack(image, swapped, aligned.ToImage, mask);
        var frameMask = new Mat();
        using (var m = FaceAligner.ToMat(aligned.ToImage)) Cv2.WarpAffine(mask, frameMask, m, image.Size(), InterpolationFlags.Linear, BorderTypes.Constant);
        return (next, frameMask);
    }

    Mat Swap(Mat face)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        model.eval();
        var input = ImageTensor.ToRgbTensor(face, model.parameters().First().device);
        var output = Options.Direction == SwapDirection.AToB ? model.SwapAToB(input) : model.SwapBToA(input);
        return ImageTensor.ToBgrMat(output);
    }

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
