using System.Formats.Tar;
using System.IO.Compression;

namespace MovingImages.Fetch;

/// <summary>Extraction from .tgz archives (npm packages).</summary>
public static class TarGz
{
    /// <summary>
    /// Extracts the regular files directly under <paramref name="folder"/> (e.g. "package/model/") into
    /// <paramref name="destination"/>, each written atomically; files already there with the same size are kept.
    /// Returns how many files were taken (those <paramref name="include"/> accepts, or all).
    /// </summary>
    public static int ExtractFolder(string archive, string folder, string destination, Func<string, bool>? include = null)
    {
        Directory.CreateDirectory(destination);
        using var file = File.OpenRead(archive);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        int count = 0;
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            string name = entry.Name.Replace('\\', '/');
            if (!name.StartsWith(folder, StringComparison.Ordinal)) continue;
            string rest = name[folder.Length..];
            if (rest.Length == 0 || rest.Contains('/') || rest.Contains("..", StringComparison.Ordinal)) continue;
            if (include != null && !include(rest)) continue;
            count++;
            string target = Path.Combine(destination, rest);
            if (File.Exists(target) && new FileInfo(target).Length == entry.Length) continue;
            IO.AtomicFile.Write(target, tmp =>
            {
                using var output = File.Create(tmp);
                entry.DataStream?.CopyTo(output);
            });
        }
        return count;
    }
}
