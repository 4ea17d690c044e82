namespace MovingImages.Tests.Fuzz;

/// <summary>
/// Seeded byte mutations of a valid file, as damage happens in the wild: bit flips, overwritten runs, truncation,
/// insertions and deletions, duplicated or swapped chunks, a file cut and extended with junk. Deterministic in the seed.
/// </summary>
public static class Mutator
{
    public static byte[] Mutate(byte[] original, int seed)
    {
        var rng = new Random(seed);
        var data = new List<byte>(original);
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds && data.Count > 0; r++)
        {
            int at = rng.Next(data.Count);
            switch (rng.Next(8))
            {
                case 0: data[at] ^= (byte)(1 << rng.Next(8)); break;                                            // one bit
                case 1: for (int i = at; i < Math.Min(data.Count, at + 1 + rng.Next(64)); i++) data[i] = (byte)rng.Next(256); break; // a run of junk
                case 2: data.RemoveRange(at, data.Count - at); break;                                           // truncated
                case 3: data.InsertRange(at, Enumerable.Range(0, 1 + rng.Next(16)).Select(_ => (byte)rng.Next(256))); break; // inserted
                case 4: data.RemoveRange(at, Math.Min(data.Count - at, 1 + rng.Next(32))); break;                // deleted
                case 5: data.AddRange(Enumerable.Range(0, 1 + rng.Next(100)).Select(_ => (byte)rng.Next(256))); break; // trailing junk
                case 6:                                                                                          // a chunk copied elsewhere
                    int len = Math.Min(data.Count - at, 1 + rng.Next(128));
                    var chunk = data.GetRange(at, len);
                    data.InsertRange(rng.Next(data.Count), chunk);
                    break;
                default: data[at] = Interesting[rng.Next(Interesting.Length)]; break;                            // boundary values
            }
        }
        return data.ToArray();
    }

    static readonly byte[] Interesting = [0x00, 0xFF, 0x7F, 0x80, 0x01, (byte)'-', (byte)'9', (byte)'[', (byte)'"', (byte)'\n', (byte)'='];

    /// <summary>Text-level mutations for line-based formats: lines dropped, duplicated, values replaced with odd ones.</summary>
    public static string MutateLines(string text, int seed)
    {
        var rng = new Random(seed);
        var lines = text.Split('\n').ToList();
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds && lines.Count > 0; r++)
        {
            int at = rng.Next(lines.Count);
            switch (rng.Next(5))
            {
                case 0: lines.RemoveAt(at); break;
                case 1: lines.Insert(rng.Next(lines.Count), lines[at]); break;
                case 2:
                    int eq = lines[at].IndexOf('=');
                    if (eq > 0) lines[at] = lines[at][..(eq + 1)] + OddValues[rng.Next(OddValues.Length)];
                    break;
                case 3: lines[at] = "[" + lines[at]; break;
                default: return System.Text.Encoding.Latin1.GetString(Mutate(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines)), seed));
            }
        }
        return string.Join('\n', lines);
    }

    static readonly string[] OddValues = ["-1", "0", "99999999999", "1e309", "NaN", "", "abc", "-2147483648", "3,", ",,", "1.5", "-0"];
}
