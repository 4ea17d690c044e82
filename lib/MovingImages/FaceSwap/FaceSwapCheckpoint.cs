using MovingImages.IO;
using TorchSharp;
using Adam = TorchSharp.Modules.Adam;

namespace MovingImages.FaceSwap;

/// <summary>A checkpoint that does not belong to this model or is damaged.</summary>
public sealed class CheckpointException(string message) : IOException(message);

/// <summary>The optimiser state a checkpoint holds besides the weights: one Adam and one loss scaler per autoencoder.</summary>
internal sealed record OptimizerState(Adam A, Adam B, LossScaler ScalerA, LossScaler ScalerB);

/// <summary>
/// The checkpoint file of a face-swap training run, format 4: "MIFS", the version, the model's sizes and view, the iteration,
/// the loss history, the weights, both Adams' state, both loss scalers, and a SHA-256 of every byte before it.
/// Written atomically (temp file, then rename); read back only whole and unchanged, for a model of the same sizes;
/// formats 1 to 3 (models that saw one template square; 1 and 2 without a checksum, 1 also without loss scalers) are still read.
/// </summary>
public static class FaceSwapCheckpoint
{
    const int Magic = 0x5346494D; // "MIFS"
    const int FormatVersion = 4; // 4 added the model's view, 3 the SHA-256 trailer, 2 the loss scalers; 1 to 3 are still read (view 1)
    const int HashBytes = 32;

    /// <summary>Writes a checkpoint; refuses weights that are not finite (the file on disk stays the last good one).</summary>
    internal static void Save(string path, FaceSwapModel model, int iteration, IReadOnlyList<TrainingStep> history, OptimizerState optimizers) =>
        AtomicFile.Write(path, tmp =>
        {
            using (var scope = torch.NewDisposeScope())
                foreach (var (name, p) in model.named_parameters())
                    if (!torch.isfinite(p).all().item<bool>())
                        throw new TrainingDivergedException($"not writing {path}: weight {name} is not finite at step {iteration}");
            using var file = File.Create(tmp);
            using var stream = new Sha256WriteStream(file);
            using (var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                w.Write(Magic);
                w.Write(FormatVersion);
                var o = model.Options;
                w.Write(o.ImageSize); w.Write(o.EncoderDim); w.Write(o.Filters); w.Write(o.View);
                w.Write(iteration);
                w.Write(history.Count);
                foreach (var h in history) { w.Write(h.Iteration); w.Write(h.LossA); w.Write(h.LossB); w.Write(h.SamplesPerSecond); w.Write(h.Skipped); }
                model.save(w);
                optimizers.A.save_state_dict(w);
                optimizers.B.save_state_dict(w);
                optimizers.ScalerA.Save(w);
                optimizers.ScalerB.Save(w);
            }
            file.Write(stream.Hash()); // over every byte before it: a flipped bit or a torn copy is refused on load
        });

    /// <summary>Reads a whole checkpoint into <paramref name="model"/> and <paramref name="optimizers"/>; returns its iteration and history.</summary>
    internal static (int Iteration, List<TrainingStep> History) Load(string path, FaceSwapModel model, OptimizerState optimizers)
    {
        (int, List<TrainingStep>) result = default;
        Read(path, model, (r, version, iteration, history) =>
        {
            optimizers.A.load_state_dict(r);
            optimizers.B.load_state_dict(r);
            if (version >= 2)
            {
                optimizers.ScalerA.Load(r);
                optimizers.ScalerB.Load(r);
            }
            long end = r.BaseStream.Length - (version >= 3 ? HashBytes : 0);
            if (r.BaseStream.Position != end)
                throw new CheckpointException($"{path}: byte {r.BaseStream.Position:N0}: {end - r.BaseStream.Position:N0} bytes after the end of the checkpoint (trailing data, or two files joined)");
            result = (iteration, history);
        });
        return result;
    }

    /// <summary>
    /// Loads only the weights of a checkpoint into <paramref name="model"/> (for conversion, which needs no optimiser);
    /// returns the iteration the checkpoint was written at.
    /// </summary>
    public static int LoadWeights(string path, FaceSwapModel model)
    {
        int done = 0;
        Read(path, model, (_, _, iteration, _) => done = iteration);
        return done;
    }

    /// <summary>The loss history of a checkpoint, without loading a model's weights into anything the caller keeps.</summary>
    public static IReadOnlyList<TrainingStep> History(string path, FaceSwapModelOptions options)
    {
        using var model = new FaceSwapModel(options);
        List<TrainingStep> steps = [];
        Read(path, model, (_, _, _, history) => steps = history);
        return steps;
    }

    /// <summary>Reads header, history and weights, then hands the reader to <paramref name="rest"/> for the optimiser state.</summary>
    static void Read(string path, FaceSwapModel model, Action<BinaryReader, int, int, List<TrainingStep>> rest)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint not found: {path}", path);
        using var stream = File.OpenRead(path);
        using var r = new BinaryReader(stream);
        try
        {
            if (r.ReadInt32() != Magic) throw new CheckpointException($"{path}: byte 0: not a MovingImages faceswap checkpoint");
            int version = r.ReadInt32();
            if (version is < 1 or > FormatVersion) throw new CheckpointException($"{path}: byte 4: checkpoint format {version}, this build reads 1 to {FormatVersion}");
            if (version >= 3) VerifyHash(path, stream); // before anything reaches the model
            long end = stream.Length - (version >= 3 ? HashBytes : 0);
            var saved = new FaceSwapModelOptions(r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), version >= 4 ? r.ReadDouble() : 1.0);
            if (saved != model.Options) throw new CheckpointException($"{path}: the checkpoint is for a model of {saved}, this model is {model.Options}");
            int iteration = r.ReadInt32();
            long at = stream.Position;
            int count = r.ReadInt32();
            int entry = version >= 2 ? 24 : 20;
            if (count < 0 || count > (end - stream.Position) / entry)
                throw new CheckpointException($"{path}: byte {at}: {count} history entries do not fit in the file");
            var history = new List<TrainingStep>(count);
            for (int i = 0; i < count; i++)
                history.Add(new TrainingStep(r.ReadInt32(), r.ReadSingle(), r.ReadSingle(), r.ReadDouble(), version >= 2 ? r.ReadInt32() : 0));
            model.load(r);
            rest(r, version, iteration, history);
        }
        catch (EndOfStreamException) { throw new CheckpointException($"{path}: truncated at byte {stream.Position:N0}"); }
        catch (InvalidDataException e) { throw new CheckpointException($"{path}: byte {stream.Position:N0}: {e.Message}"); }
    }

    /// <summary>Checks the SHA-256 trailer of a format-3 checkpoint against every byte before it; leaves the stream at byte 8.</summary>
    static void VerifyHash(string path, FileStream stream)
    {
        long body = stream.Length - HashBytes;
        if (body < 8) throw new CheckpointException($"{path}: truncated at byte {stream.Length:N0} (no room for its checksum)");
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        stream.Position = 0;
        var buffer = new byte[1 << 20];
        for (long left = body; left > 0;)
        {
            int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n <= 0) throw new EndOfStreamException();
            sha.AppendData(buffer, 0, n);
            left -= n;
        }
        var stored = new byte[HashBytes];
        stream.ReadExactly(stored);
        if (!sha.GetHashAndReset().AsSpan().SequenceEqual(stored))
            throw new CheckpointException($"{path}: the checksum does not match its {body:N0} bytes: the file is damaged (truncated, a changed byte, or data appended); " +
                                          "use an earlier checkpoint or train again");
        stream.Position = 8;
    }
}
