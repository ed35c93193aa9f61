/**
 * What the NUT server serves, injected: a source of UPSes (seen per connection, so that one client
 * can be shown FSD while another is not) and an account check for LOGIN.
 */

/** Who is asking: the connection's address and what it has said about itself so far. */
export interface NutClientView {
  readonly connectionId: number;
  readonly address: string;
  /** From USERNAME, once sent (not yet verified: upsd checks the password only at LOGIN). */
  readonly username: string | undefined;
  /** The UPS this connection logged in to (its canonical name), once LOGIN succeeded. */
  readonly loggedInTo: string | undefined;
}

/** upsd's answers when a UPS exists but its data cannot be served. */
export type NutUnavailable = 'DATA-STALE' | 'DRIVER-NOT-CONNECTED';

export interface NutServedData {
  /** Variable name → value, as upsd would serve them (ups.status with FSD already added if due). */
  readonly vars: ReadonlyMap<string, string>;
  /** Instant command names (LIST CMD). */
  readonly commands: readonly string[];
}

export interface NutServedUps {
  /** The canonical name (matched case-insensitively, as upsd does). */
  readonly name: string;
  /** LIST UPS / GET UPSDESC; upsd says "Description unavailable" / "Unavailable" without one. */
  readonly description: string | undefined;
  readonly data: NutServedData | NutUnavailable;
}

export interface NutServerSource {
  /** The UPSes this client sees, in LIST UPS order. Called per command: keep it cheap. */
  upses(client: NutClientView): readonly NutServedUps[];
  /** GET DESC's text for a variable, if known ("Description unavailable" otherwise). */
  describeVar?(name: string): string | undefined;
  /** GET CMDDESC's text for an instant command, if known. */
  describeCommand?(name: string): string | undefined;
}

export interface NutLoginRequest {
  readonly username: string;
  readonly password: string;
  /** The canonical UPS name. */
  readonly ups: string;
  readonly address: string;
}

export interface NutServerAuth {
  /** LOGIN: may this user, with this password, log in to this UPS? false → ERR ACCESS-DENIED. */
  login(request: NutLoginRequest): Promise<boolean>;
}

/** Things that happened on the server, for the owner to act on (confirmations, logs). */
export type NutServerEvent =
  | { readonly type: 'connect'; readonly connectionId: number; readonly address: string }
  | { readonly type: 'refused'; readonly address: string }
  | {
      readonly type: 'login';
      readonly connectionId: number;
      readonly address: string;
      readonly username: string;
      readonly ups: string;
    }
  | {
      readonly type: 'login-denied';
      readonly connectionId: number;
      readonly address: string;
      readonly username: string;
      readonly ups: string;
    }
  | {
      /** A logged-in client left: by LOGOUT, or by dropping the connection. */
      readonly type: 'logout';
      readonly connectionId: number;
      readonly address: string;
      readonly username: string;
      readonly ups: string;
      readonly how: 'logout' | 'disconnect';
    }
  | { readonly type: 'disconnect'; readonly connectionId: number; readonly address: string };
